import Crypto

/// Digest helpers, independent of the registry under test.
enum Digests {
    static func sha256(_ bytes: [UInt8]) -> String {
        "sha256:" + hex(Array(SHA256.hash(data: bytes)))
    }

    static func sha512(_ bytes: [UInt8]) -> String {
        "sha512:" + hex(Array(SHA512.hash(data: bytes)))
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var words = (0..<(count + 7) / 8).map { _ in generator.next() as UInt64 }
        return words.withUnsafeMutableBytes { Array($0.prefix(count)) }
    }
}
