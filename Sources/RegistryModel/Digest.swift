/// A content digest as defined by the OCI image-spec: `algorithm ":" encoded`.
///
/// Only algorithms the registry can verify (``DigestAlgorithm``) are representable; a digest that
/// is well formed but names another algorithm is rejected with ``DigestParseError/unsupportedAlgorithm(_:)``
/// so that the HTTP layer can answer with a clear error instead of storing something it cannot check.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let algorithm: DigestAlgorithm
    /// Lower-case hexadecimal encoding of the hash.
    public let encoded: String

    public init(algorithm: DigestAlgorithm, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    public init(parsing string: String) throws(DigestParseError) {
        guard let colon = string.utf8.firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformed(string)
        }
        let algorithmPart = string[..<colon]
        let encodedPart = string[string.index(after: colon)...]
        guard Self.isValidAlgorithmComponent(algorithmPart), Self.isValidEncodedComponent(encodedPart) else {
            throw .malformed(string)
        }
        guard let algorithm = DigestAlgorithm(rawValue: String(algorithmPart)) else {
            throw .unsupportedAlgorithm(String(algorithmPart))
        }
        guard encodedPart.utf8.count == algorithm.encodedLength,
              encodedPart.utf8.allSatisfy({ Self.isLowerHex($0) })
        else {
            throw .malformed(string)
        }
        self.init(algorithm: algorithm, encoded: String(encodedPart))
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    // image-spec grammar:
    //   algorithm-component ::= [a-z0-9]+ ; separators [+._-] between components
    //   encoded             ::= [a-zA-Z0-9=_-]+
    private static func isValidAlgorithmComponent(_ part: Substring) -> Bool {
        var previousWasSeparator = true
        for byte in part.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasSeparator = false
            case UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                if previousWasSeparator { return false }
                previousWasSeparator = true
            default:
                return false
            }
        }
        return !previousWasSeparator
    }

    private static func isValidEncodedComponent(_ part: Substring) -> Bool {
        guard !part.isEmpty else { return false }
        return part.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "="), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

/// Why a string is not a usable digest.
public enum DigestParseError: Error, Equatable, Sendable {
    /// Not of the image-spec digest grammar, or the wrong length for its algorithm.
    case malformed(String)
    /// Well formed, but an algorithm this registry does not implement.
    case unsupportedAlgorithm(String)
}

/// The hash algorithms the registry verifies.
public enum DigestAlgorithm: String, Sendable, CaseIterable, Hashable {
    case sha256
    case sha512

    /// Number of hex characters in an encoded digest of this algorithm.
    public var encodedLength: Int {
        switch self {
        case .sha256: 64
        case .sha512: 128
        }
    }
}

extension Digest {
    /// `sha256:0123456789ab`: the first 12 hex digits, as `docker images` shortens image IDs;
    /// enough to tell blobs apart in progress lines and tables.
    public var shortDescription: String { "\(algorithm.rawValue):\(encoded.prefix(12))" }
}
