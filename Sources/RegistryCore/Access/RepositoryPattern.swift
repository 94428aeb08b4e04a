/// A glob over repository names: `*` matches within one path segment, `**` across segments,
/// `?` one character; anything else matches itself. `team-a/**` matches every repository below
/// `team-a/`, `public/*` the repositories directly below `public/`.
public struct RepositoryPattern: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let tokens: [Token]

    private enum Token: Hashable {
        case literal(Character)
        case anyCharacter
        case segmentWildcard
        case deepWildcard
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        var tokens: [Token] = []
        var characters = Array(pattern)[...]
        while let character = characters.popFirst() {
            switch character {
            case "*" where characters.first == "*":
                characters.removeFirst()
                // `a/**` also matches `a` itself: let the `/` before `**` be optional.
                tokens.append(.deepWildcard)
            case "*":
                tokens.append(.segmentWildcard)
            case "?":
                tokens.append(.anyCharacter)
            default:
                tokens.append(.literal(character))
            }
        }
        self.tokens = tokens
    }

    public var description: String { pattern }

    public func matches(_ name: String) -> Bool {
        Self.match(tokens[...], Array(name)[...])
    }

    private static func match(_ tokens: ArraySlice<Token>, _ name: ArraySlice<Character>) -> Bool {
        guard let token = tokens.first else { return name.isEmpty }
        let rest = tokens.dropFirst()
        switch token {
        case .literal("/") where rest.first == .deepWildcard && rest.count == 1:
            // `prefix/**` matches `prefix` and everything below it.
            return name.isEmpty || name.first == "/"
        case .literal(let character):
            return name.first == character && match(rest, name.dropFirst())
        case .anyCharacter:
            return name.first.map { $0 != "/" } == true && match(rest, name.dropFirst())
        case .segmentWildcard:
            var candidate = name
            while true {
                if match(rest, candidate) { return true }
                guard let next = candidate.first, next != "/" else { return false }
                candidate = candidate.dropFirst()
            }
        case .deepWildcard:
            var candidate = name
            while true {
                if match(rest, candidate) { return true }
                guard !candidate.isEmpty else { return false }
                candidate = candidate.dropFirst()
            }
        }
    }
}
