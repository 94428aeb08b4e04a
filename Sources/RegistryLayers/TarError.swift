/// Why `TarReader` refused an archive. `offset` is the position, in the uncompressed stream, of
/// the 512-byte header block concerned (for `truncated`, where the stream ended).
public enum TarError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The header's checksum field does not match its bytes: corrupt data, or not a tar archive.
    case invalidChecksum(offset: UInt64)
    /// A numeric header field is neither octal nor base-256, is out of range for its field, or
    /// (for `size`) is negative.
    case invalidNumericField(field: String, offset: UInt64)
    /// A PAX or GNU long-name header larger than the reader's limit.
    case extendedHeaderTooLarge(size: Int64, limit: Int, offset: UInt64)
    /// PAX extended header data that is not a sequence of `length key=value\n` records.
    case invalidPAXRecords(offset: UInt64)
    /// A PAX record the reader interprets (`size`, `uid`, `gid`, `mtime`) has a malformed value.
    case invalidPAXValue(key: String, offset: UInt64)
    /// A PAX or GNU long-name header not followed by the entry it describes.
    case danglingExtendedHeader(offset: UInt64)
    /// A zero block (the start of the end-of-archive marker) followed by a block that is not zero.
    case loneZeroBlock(offset: UInt64)
    /// The stream ended inside a header, an entry's data or its padding.
    case truncated(offset: UInt64)

    public var description: String {
        switch self {
        case .invalidChecksum(let offset):
            "tar header at offset \(offset) has a wrong checksum (corrupt, or not a tar archive)"
        case .invalidNumericField(let field, let offset):
            "tar header at offset \(offset): invalid \(field) field (malformed, negative or too large)"
        case .extendedHeaderTooLarge(let size, let limit, let offset):
            "tar extended header at offset \(offset) is \(size) bytes, more than the limit of \(limit)"
        case .invalidPAXRecords(let offset):
            "tar PAX header at offset \(offset) has malformed records"
        case .invalidPAXValue(let key, let offset):
            "tar PAX header at offset \(offset) has an invalid '\(key)' value"
        case .danglingExtendedHeader(let offset):
            "tar extended header at offset \(offset) is not followed by an entry"
        case .loneZeroBlock(let offset):
            "tar zero block at offset \(offset) is followed by data instead of a second zero block"
        case .truncated(let offset):
            "tar archive truncated at offset \(offset)"
        }
    }
}
