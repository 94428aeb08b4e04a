/// Why `TarWriter` refused a call.
public enum TarWriterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An entry field that no tar header can hold: negative numbers, NUL bytes in names, a
    /// type flag reserved for extended headers, device numbers beyond 7 octal digits.
    case invalidField(field: String, reason: String)
    /// `beginEntry` or `finish` before the current entry's `endEntry`.
    case entryNotEnded
    /// `writeData` or `endEntry` without a `beginEntry`.
    case noEntry
    /// More data than the entry's size.
    case dataExceedsSize(size: Int64)
    /// `endEntry` before the entry's size was written.
    case dataShorterThanSize(size: Int64, written: UInt64)
    /// A call after `finish`.
    case finished

    public var description: String {
        switch self {
        case .invalidField(let field, let reason): "tar entry's \(field) cannot be written: \(reason)"
        case .entryNotEnded: "tar entry not ended (its data is incomplete or endEntry was not called)"
        case .noEntry: "no tar entry begun"
        case .dataExceedsSize(let size): "more data than the tar entry's size of \(size) bytes"
        case .dataShorterThanSize(let size, let written): "tar entry ended after \(written) of its \(size) bytes"
        case .finished: "tar archive already finished"
        }
    }
}
