/// A hand-made tar header block, for archives no well-behaved writer produces.
struct RawTarHeader {
    private(set) var bytes = [UInt8](repeating: 0, count: 512)

    /// A POSIX ustar header (magic `ustar\0`, version `00`) with octal fields.
    init(name: String, type: Character = "0", size: Int64 = 0, mode: Int64 = 0o644, mtime: Int64 = 1_700_000_000) {
        set(0..<100, Array(name.utf8))
        setOctal(100..<108, mode)
        setOctal(108..<116, 0)
        setOctal(116..<124, 0)
        setOctal(124..<136, size)
        setOctal(136..<148, mtime)
        bytes[156] = type.asciiValue!
        set(257..<263, Array("ustar\0".utf8))
        set(263..<265, Array("00".utf8))
    }

    mutating func set(_ range: Range<Int>, _ value: [UInt8]) {
        precondition(value.count <= range.count)
        for index in range { bytes[index] = 0 }
        bytes.replaceSubrange(range.lowerBound..<(range.lowerBound + value.count), with: value)
    }

    mutating func setOctal(_ range: Range<Int>, _ value: Int64) {
        let digits = String(value, radix: 8)
        set(range, Array((String(repeating: "0", count: range.count - 1 - digits.count) + digits).utf8) + [0])
    }

    /// GNU base-256: the high bit of the first byte, then big-endian two's complement.
    mutating func setBase256(_ range: Range<Int>, _ value: Int64) {
        var field = [UInt8](repeating: value < 0 ? 0xFF : 0, count: range.count)
        var remaining = value
        for index in stride(from: field.count - 1, through: 1, by: -1) {
            field[index] = UInt8(truncatingIfNeeded: remaining)
            remaining >>= 8
        }
        field[0] |= 0x80
        set(range, field)
    }

    /// The block with its checksum computed.
    var sealed: [UInt8] {
        var block = bytes
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        let field = Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, UInt8(ascii: " ")]
        block.replaceSubrange(148..<156, with: field)
        return block
    }
}

/// `data` followed by zeros up to a whole number of blocks.
func padded(_ data: [UInt8]) -> [UInt8] {
    data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
}

/// PAX records, each `length key=value\n`.
func paxData(_ records: [(String, String)]) -> [UInt8] {
    records.flatMap { key, value -> [UInt8] in
        let payload = key.utf8.count + value.utf8.count + 3
        var length = payload + String(payload).count
        if String(length).count != String(payload).count { length = payload + String(length).count }
        return Array("\(length) \(key)=\(value)\n".utf8)
    }
}

/// Two zero blocks.
let endOfArchive = [UInt8](repeating: 0, count: 1024)
