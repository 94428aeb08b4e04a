/// What `TarReader` reports, in archive order: for each entry, `.entry`, then its data in zero
/// or more `.data` pieces (together `entry.dataSize` bytes), then `.entryEnd`.
public enum TarEvent {
    case entry(TarEntry)
    /// A piece of the current entry's data. The buffer points into the chunk given to `feed` and
    /// is valid only during the handler's call; copy what must outlive it.
    case data(UnsafeRawBufferPointer)
    case entryEnd
}
