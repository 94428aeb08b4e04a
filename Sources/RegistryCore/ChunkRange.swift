import RegistryModel

/// A chunk's declared place in the upload (`Content-Range: start-end`, inclusive).
///
/// Only ranges whose every figure fits in `Int64` can be made: `start >= 0`, `end >= start`
/// and a `length` (`end - start + 1`) of at most `Int64.max`. A client can write any numbers
/// in its header, and `0-9223372036854775807` once made `length` trap; such a range is now
/// refused where it is parsed, as `416 RANGE_INVALID`.
public struct ChunkRange: Sendable, Equatable {
    public let start: Int64
    public let end: Int64

    /// Nil when `start` is negative, `end` precedes `start`, or the length overflows `Int64`.
    public init?(start: Int64, end: Int64) {
        guard start >= 0, end >= start, end - start < Int64.max else { return nil }
        self.start = start
        self.end = end
    }

    /// Number of bytes in the range; cannot overflow (checked when the range was made).
    public var length: Int64 { end - start + 1 }

    /// Parses a `Content-Range` header of a chunk upload: `<start>-<end>`, with an optional
    /// `bytes=` or `bytes ` prefix (clients write all three) and an ignored `/<total>` suffix.
    /// Nil when malformed or not representable.
    public init?(contentRange header: String) {
        var spec = Substring(header)
        for prefix in ["bytes=", "bytes "] where spec.hasPrefix(prefix) {
            spec = spec.dropFirst(prefix.count)
        }
        if let slash = spec.firstIndex(of: "/") { spec = spec[..<slash] }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2,
              let start = DecimalNumber(parts[0])?.exact, let end = DecimalNumber(parts[1])?.exact
        else { return nil }
        self.init(start: start, end: end)
    }
}
