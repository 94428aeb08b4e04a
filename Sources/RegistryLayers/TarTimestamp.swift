/// A tar entry's modification time: seconds since the Unix epoch and, from PAX `mtime` records,
/// the fraction of a second.
///
/// `seconds` is the floor of the time, so `nanoseconds` is always in `0..<1_000_000_000`, also
/// before 1970: -1.5 s is `seconds: -2, nanoseconds: 500_000_000`.
public struct TarTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let nanosecondsPerSecond: UInt32 = 1_000_000_000
    public static let zero = TarTimestamp(seconds: 0)

    public var seconds: Int64
    public var nanoseconds: UInt32

    /// `nanoseconds` is clamped to `0..<1_000_000_000`.
    public init(seconds: Int64, nanoseconds: UInt32 = 0) {
        self.seconds = seconds
        self.nanoseconds = min(nanoseconds, Self.nanosecondsPerSecond - 1)
    }

    public static func < (lhs: TarTimestamp, rhs: TarTimestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// The PAX form: decimal seconds, with a fraction only when there is one (`1700000000`,
    /// `1700000000.5`, `-1.5`).
    public var description: String {
        guard nanoseconds > 0 else { return String(seconds) }
        // A negative time with a fraction is written as its value: -2 s + 0.5 s is "-1.5".
        let (sign, whole, fraction) = seconds >= 0
            ? ("", UInt64(seconds), nanoseconds)
            : ("-", UInt64(-(seconds + 1)), Self.nanosecondsPerSecond - nanoseconds)
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(sign)\(whole).\(digits)"
    }

    /// Parses the PAX form: an optional `-` or `+`, decimal digits, optionally `.` and more
    /// digits (those beyond nanoseconds are dropped). Nil when malformed or out of range.
    public init?(paxValue: String) {
        var bytes = Substring(paxValue).utf8[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        let wholeDigits = bytes.prefix { $0 != UInt8(ascii: ".") }
        let fractionDigits = bytes.dropFirst(wholeDigits.count + 1)
        let hasPoint = wholeDigits.count < bytes.count
        guard !wholeDigits.isEmpty, !(hasPoint && fractionDigits.isEmpty) else { return nil }
        var whole: Int64 = 0
        for byte in wholeDigits {
            guard let digit = Self.decimalDigit(byte) else { return nil }
            let (times10, overflow1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
            guard !overflow1, !overflow2 else { return nil }
            whole = sum
        }
        var fraction: UInt32 = 0
        for (index, byte) in fractionDigits.enumerated() {
            guard let digit = Self.decimalDigit(byte) else { return nil }
            if index < 9 { fraction = fraction * 10 + UInt32(digit) }
        }
        for _ in min(fractionDigits.count, 9)..<9 { fraction *= 10 }
        if !negative {
            self.init(seconds: whole, nanoseconds: fraction)
        } else if fraction == 0 {
            self.init(seconds: -whole)
        } else {
            // -(whole + fraction) = -(whole + 1) + (1 - fraction); -(whole + 1) fits: whole <= Int64.max.
            self.init(seconds: -whole - 1, nanoseconds: Self.nanosecondsPerSecond - fraction)
        }
    }

    private static func decimalDigit(_ byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }
}
