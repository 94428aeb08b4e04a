/// A repository name, validated against the distribution-spec grammar:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
///
/// The grammar forbids `.`/`..` segments, empty segments and leading `/`, so a valid name can be
/// used as a key anywhere without escaping the storage root.
public struct RepositoryName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Names longer than this are rejected; the spec caps `host/name` at 255 characters.
    public static let maximumLength = 255

    public let value: String

    public init?(_ value: String) {
        guard value.utf8.count <= Self.maximumLength, Self.isValid(value) else { return nil }
        self.value = value
    }

    public var description: String { value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    private static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        for component in name.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard isValidComponent(component) else { return false }
        }
        return true
    }

    /// One path component: alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
    private static func isValidComponent(_ component: Substring.UTF8View.SubSequence) -> Bool {
        guard let first = component.first, let last = component.last,
              isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var separator: [UInt8] = []
        for byte in component {
            if isAlphanumeric(byte) {
                if !separator.isEmpty {
                    guard isValidSeparator(separator) else { return false }
                    separator.removeAll(keepingCapacity: true)
                }
            } else {
                separator.append(byte)
            }
        }
        return true
    }

    private static func isValidSeparator(_ separator: [UInt8]) -> Bool {
        if separator == [UInt8(ascii: ".")] || separator == [UInt8(ascii: "_")]
            || separator == [UInt8(ascii: "_"), UInt8(ascii: "_")] {
            return true
        }
        return separator.allSatisfy { $0 == UInt8(ascii: "-") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
