/// A non-negative decimal number as HTTP writes them (`1*DIGIT`): in `Content-Length`,
/// `Content-Range`, `Range` and the `n` of a listing.
///
/// Stricter than `Int64(_:)`, which also takes a sign (`+5`, `-0`), and explicit about numbers
/// too large for `Int64`: a client may write any number of digits, and what the registry does
/// with one beyond `Int64.max` (clamp it, ignore the header, refuse the request) depends on
/// the header, so the parser reports it instead of failing or trapping.
public enum DecimalNumber: Sendable, Equatable {
    case value(Int64)
    /// Only digits, but more than `Int64.max`.
    case tooLarge

    /// Nil unless `text` is one or more ASCII digits and nothing else.
    public init?(_ text: some StringProtocol) {
        var result: Int64 = 0
        var overflowed = false
        var sawDigit = false
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            sawDigit = true
            guard !overflowed else { continue }
            let (times10, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 {
                overflowed = true
            } else {
                result = sum
            }
        }
        guard sawDigit else { return nil }
        self = overflowed ? .tooLarge : .value(result)
    }

    /// The value, or `Int64.max` for a larger number: for limits, where any number beyond
    /// what can be stored means the same thing.
    public var saturated: Int64 {
        switch self {
        case .value(let value): value
        case .tooLarge: .max
        }
    }

    /// The value; nil when it does not fit in `Int64`.
    public var exact: Int64? {
        switch self {
        case .value(let value): value
        case .tooLarge: nil
        }
    }
}
