/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
public struct Tag: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maximumLength = 128

    public let value: String

    public init?(_ value: String) {
        let bytes = value.utf8
        guard let first = bytes.first, bytes.count <= Self.maximumLength,
              Self.isWordCharacter(first),
              bytes.allSatisfy({ Self.isWordCharacter($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { return nil }
        self.value = value
    }

    public var description: String { value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    private static func isWordCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

/// What `/manifests/<reference>` names: a tag or a digest.
public enum Reference: Hashable, Sendable, CustomStringConvertible {
    case tag(Tag)
    case digest(Digest)

    /// A reference with a `:` is a digest (tags cannot contain one); anything else must be a tag.
    public init(parsing string: String) throws(RegistryError) {
        if string.utf8.contains(UInt8(ascii: ":")) {
            self = .digest(try Digest(validating: string))
        } else if let tag = Tag(string) {
            self = .tag(tag)
        } else {
            throw RegistryError(.tagInvalid, detail: ["tag": string])
        }
    }

    public var description: String {
        switch self {
        case .tag(let tag): tag.value
        case .digest(let digest): digest.description
        }
    }
}
