import Foundation

/// Which tags to mirror: all, a glob (`v1.*`: `*` any run, `?` one character, `[...]` a class),
/// or a regular expression; both match the whole tag.
public struct TagFilter: Sendable {
    private let expression: ExpressionBox?
    public let description: String

    public static let all = TagFilter(expression: nil, description: "all tags")

    private init(expression: ExpressionBox?, description: String) {
        self.expression = expression
        self.description = description
    }

    public static func glob(_ pattern: String) -> TagFilter? {
        var regex = ""
        for character in pattern {
            switch character {
            case "*": regex += ".*"
            case "?": regex += "."
            case "[", "]", "-": regex.append(character)
            default: regex += NSRegularExpression.escapedPattern(for: String(character))
            }
        }
        return regularExpression(regex, description: "tags matching \(pattern)")
    }

    public static func regularExpression(_ pattern: String, description: String? = nil) -> TagFilter? {
        guard let expression = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return nil }
        return TagFilter(expression: ExpressionBox(expression), description: description ?? "tags matching /\(pattern)/")
    }

    public func matches(_ tag: String) -> Bool {
        guard let expression else { return true }
        return expression.value.firstMatch(in: tag, range: NSRange(tag.startIndex..., in: tag)) != nil
    }
}

/// NSRegularExpression is immutable and thread-safe, but not marked Sendable.
private final class ExpressionBox: @unchecked Sendable {
    let value: NSRegularExpression
    init(_ value: NSRegularExpression) { self.value = value }
}
