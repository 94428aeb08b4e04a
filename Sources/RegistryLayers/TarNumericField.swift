/// The numeric fields of tar headers: octal ASCII, or GNU's base-256 for values too large (or
/// negative) for the octal digits the field has room for.
enum TarNumericField {
    /// Parses a field. Octal: leading and trailing spaces and NULs are ignored (writers pad
    /// either way), an empty field is 0, anything else must be octal digits. Base-256 (the first
    /// byte's high bit set): big-endian two's complement in the remaining bits, where bit 0x40 of
    /// the first byte is the sign. Nil when malformed or beyond `Int64`.
    static func parse(_ field: UnsafeRawBufferPointer) -> Int64? {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 { return parseBase256(field) }
        let isPadding: (UInt8) -> Bool = { $0 == 0 || $0 == UInt8(ascii: " ") }
        guard let start = field.firstIndex(where: { !isPadding($0) }) else { return 0 }
        let end = field.lastIndex(where: { !isPadding($0) })! + 1
        var value: Int64 = 0
        for byte in field[start..<end] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7"), value <= Int64.max >> 3 else { return nil }
            value = value << 3 | Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func parseBase256(_ field: UnsafeRawBufferPointer) -> Int64? {
        let negative = field[0] & 0x40 != 0
        var magnitude: UInt64 = 0
        for (index, byte) in field.enumerated() {
            // A negative number is read through its complement: ~value is non-negative.
            var bits = negative ? ~byte : byte
            if index == 0 { bits &= 0x7F }
            guard magnitude >> 56 == 0 else { return nil }
            magnitude = magnitude << 8 | UInt64(bits)
        }
        guard magnitude >> 63 == 0 else { return nil }
        return negative ? ~Int64(magnitude) : Int64(magnitude)
    }

    /// The largest value `format` fits in a field of `width` bytes: `width - 1` octal digits
    /// and a NUL.
    static func maxOctal(width: Int) -> Int64 {
        (1 << (3 * Int64(width - 1))) - 1
    }

    /// Writes `value` as `width - 1` zero-padded octal digits and a NUL. The caller checks
    /// `0...maxOctal(width:)` first.
    static func format(_ value: Int64, into field: UnsafeMutableRawBufferPointer) {
        precondition(value >= 0 && value <= maxOctal(width: field.count), "tar octal field overflow")
        var remaining = value
        field[field.count - 1] = 0
        for index in stride(from: field.count - 2, through: 0, by: -1) {
            field[index] = UInt8(ascii: "0") + UInt8(remaining & 7)
            remaining >>= 3
        }
    }
}
