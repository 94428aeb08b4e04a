import Crypto

/// An incremental hash for one of the supported ``DigestAlgorithm``s.
///
/// A value type: copying it snapshots the running state, which upload sessions use to roll back
/// the hash when a chunk fails half-way.
public struct DigestHasher: Sendable {
    private enum State: Sendable {
        case sha256(SHA256)
        case sha512(SHA512)
    }

    private var state: State
    public let algorithm: DigestAlgorithm

    public init(algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        }
    }

    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var hasher):
            hasher.update(bufferPointer: bufferPointer)
            state = .sha256(hasher)
        case .sha512(var hasher):
            hasher.update(bufferPointer: bufferPointer)
            state = .sha512(hasher)
        }
    }

    public mutating func update<Bytes: Sequence>(bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update(bufferPointer: $0) }
    }

    public func finalize() -> Digest {
        let bytes: [UInt8]
        switch state {
        case .sha256(let hasher): bytes = Array(hasher.finalize())
        case .sha512(let hasher): bytes = Array(hasher.finalize())
        }
        return Digest(algorithm: algorithm, encoded: Self.hex(bytes))
    }

    /// The digest of a complete byte sequence.
    public static func digest<Bytes: Sequence>(of bytes: Bytes, algorithm: DigestAlgorithm = .sha256) -> Digest
    where Bytes.Element == UInt8 {
        var hasher = DigestHasher(algorithm: algorithm)
        hasher.update(bytes: bytes)
        return hasher.finalize()
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func hex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
