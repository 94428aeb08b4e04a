/// Writes a tar archive to a sink, entry by entry: `beginEntry`, the data in any number of
/// `writeData` calls, `endEntry`, and at the end `finish`.
///
/// ```swift
/// var writer = TarWriter()
/// try writer.beginEntry(TarEntry(path: "etc/hostname", size: 5), into: sink)
/// try writer.writeData(Array("host\n".utf8), into: sink)
/// try writer.endEntry(into: sink)
/// try writer.finish(into: sink)
/// ```
///
/// Headers are POSIX ustar; a PAX extended header (`x`) comes first when an entry has what
/// ustar cannot hold (paths beyond 100 bytes that cannot be split over `prefix`, long link
/// names, non-ASCII names, sizes of 8 GiB and more, large ids, times before 1970 or with a
/// fraction) or PAX records of its own (`paxRecords`: xattrs and the like). Nothing depends on
/// the clock or the machine: the same entries always give the same bytes. `TarReader` reads
/// the result back to the same entries.
///
/// The sink may differ from call to call; the archive is the concatenation of everything
/// written. After an error, discard the writer.
public struct TarWriter: Sendable {
    private enum State: Sendable {
        case ready
        case entry(size: Int64, written: UInt64)
        case finished

        var isFinished: Bool {
            if case .finished = self { return true }
            return false
        }
    }

    private static let zeroBlock = [UInt8](repeating: 0, count: TarHeaderLayout.blockSize)

    private var state = State.ready

    public init() {}

    /// Writes `entry`'s header(s). Links, devices, directories and fifos are written with size
    /// 0 and take no data (`TarEntryType.carriesData`); other entries then need exactly
    /// `entry.size` bytes of `writeData`.
    public mutating func beginEntry(_ entry: TarEntry, into sink: ByteSink) throws {
        switch state {
        case .ready: break
        case .entry: throw TarWriterError.entryNotEnded
        case .finished: throw TarWriterError.finished
        }
        let (blocks, dataSize) = try TarHeaderEncoder.encode(entry)
        try blocks.withUnsafeBytes(sink)
        state = .entry(size: dataSize, written: 0)
    }

    /// Writes the next piece of the current entry's data.
    public mutating func writeData(_ bytes: UnsafeRawBufferPointer, into sink: ByteSink) throws {
        guard case .entry(let size, let written) = state else {
            throw state.isFinished ? TarWriterError.finished : TarWriterError.noEntry
        }
        guard UInt64(bytes.count) <= UInt64(size) - written else { throw TarWriterError.dataExceedsSize(size: size) }
        guard !bytes.isEmpty else { return }
        state = .entry(size: size, written: written + UInt64(bytes.count))
        try sink(bytes)
    }

    /// `writeData(_:into:)` for any contiguous or non-contiguous byte collection.
    public mutating func writeData(_ bytes: some Collection<UInt8>, into sink: ByteSink) throws {
        try withContiguousBytes(of: bytes) { try writeData($0, into: sink) }
    }

    /// Ends the current entry: checks that all its data was written and pads it to a whole block.
    public mutating func endEntry(into sink: ByteSink) throws {
        guard case .entry(let size, let written) = state else {
            throw state.isFinished ? TarWriterError.finished : TarWriterError.noEntry
        }
        guard written == UInt64(size) else { throw TarWriterError.dataShorterThanSize(size: size, written: written) }
        state = .ready
        let padding = TarHeaderLayout.padding(after: written)
        if padding > 0 {
            try Self.zeroBlock.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0.prefix(padding))) }
        }
    }

    /// `beginEntry`, `writeData` and `endEntry` for an entry whose data is at hand. The data's
    /// length must be the entry's `dataSize`.
    public mutating func writeEntry<Bytes: Collection<UInt8>>(_ entry: TarEntry, data: Bytes = [UInt8](), into sink: ByteSink) throws {
        try beginEntry(entry, into: sink)
        try writeData(data, into: sink)
        try endEntry(into: sink)
    }

    /// Writes the end-of-archive marker, two zero blocks. The writer cannot be used afterwards.
    public mutating func finish(into sink: ByteSink) throws {
        switch state {
        case .ready: break
        case .entry: throw TarWriterError.entryNotEnded
        case .finished: throw TarWriterError.finished
        }
        state = .finished
        try Self.zeroBlock.withUnsafeBytes { block in
            try sink(block)
            try sink(block)
        }
    }
}
