import Foundation
import RegistryModel
import RegistryStorage

/// Which tags and untagged manifests to keep, per repository glob. The first rule whose glob
/// matches a repository applies to it; a repository no rule matches keeps all its tags.
///
/// A tag is kept when any of the rule's criteria keeps it: among the `keepLast` most recently
/// pushed, matching `keepMatching`, or pulled (or pushed) within `keepPulledWithin`. A rule with
/// no tag criterion keeps every tag. Index children and referrers of kept manifests are kept by
/// the collection itself (unless `keepReferrers` is false).
public struct RetentionPolicy: Sendable, Equatable {
    public var rules: [RetentionRule]
    /// Report what the rules would delete, delete nothing because of them.
    public var dryRun: Bool

    public init(rules: [RetentionRule] = [], dryRun: Bool = false) {
        self.rules = rules
        self.dryRun = dryRun
    }

    public func rule(for repository: RepositoryName) -> RetentionRule? {
        rules.first { $0.repositories.matches(repository.value) }
    }
}

public struct RetentionRule: Sendable, Equatable {
    public var repositories: RepositoryPattern
    /// Keep the N most recently pushed tags.
    public var keepLast: Int?
    /// Keep tags whose whole name matches this regular expression.
    public var keepMatching: TagExpression?
    /// Keep tags pulled within this long (a tag pushed within it counts as pulled).
    public var keepPulledWithin: Duration?
    /// Keep untagged manifests this long, then delete them (nil: keep them, unless the
    /// collection is asked to delete every untagged manifest).
    public var keepUntaggedFor: Duration?
    /// Keep manifests whose subject is kept (signatures, SBOMs), even untagged.
    public var keepReferrers: Bool

    public init(
        repositories: RepositoryPattern, keepLast: Int? = nil, keepMatching: TagExpression? = nil,
        keepPulledWithin: Duration? = nil, keepUntaggedFor: Duration? = nil, keepReferrers: Bool = true
    ) {
        self.repositories = repositories
        self.keepLast = keepLast
        self.keepMatching = keepMatching
        self.keepPulledWithin = keepPulledWithin
        self.keepUntaggedFor = keepUntaggedFor
        self.keepReferrers = keepReferrers
    }

    /// Whether the rule says anything about tags (otherwise every tag is kept).
    public var constrainsTags: Bool { keepLast != nil || keepMatching != nil || keepPulledWithin != nil }

    /// The tags this rule does not keep.
    public func tagsToDelete(_ tags: [TagRecord], now: Date) -> [TagRecord] {
        guard constrainsTags else { return [] }
        let newestFirst = tags.sorted { ($0.pushedAt, $0.tag.value) > ($1.pushedAt, $1.tag.value) }
        let recent = Set(newestFirst.prefix(keepLast ?? 0).map(\.tag))
        let usedSince = keepPulledWithin.map { now.addingTimeInterval(-$0.timeInterval) }
        return newestFirst.filter { record in
            if recent.contains(record.tag) { return false }
            if let keepMatching, keepMatching.matches(record.tag.value) { return false }
            if let usedSince, max(record.pushedAt, record.pulledAt ?? .distantPast) >= usedSince { return false }
            return true
        }.sorted { $0.tag.value < $1.tag.value }
    }
}

/// A regular expression over tag names, matched against the whole name.
public struct TagExpression: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    private let expression: NSRegularExpressionBox

    /// Nil when `pattern` is not a valid regular expression.
    public init?(_ pattern: String) {
        guard let expression = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return nil }
        self.pattern = pattern
        self.expression = NSRegularExpressionBox(expression)
    }

    public func matches(_ name: String) -> Bool {
        expression.value.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
    }

    public var description: String { pattern }

    public static func == (lhs: TagExpression, rhs: TagExpression) -> Bool { lhs.pattern == rhs.pattern }
}

/// NSRegularExpression is immutable and documented thread-safe, but not marked Sendable.
private final class NSRegularExpressionBox: @unchecked Sendable {
    let value: NSRegularExpression
    init(_ value: NSRegularExpression) { self.value = value }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
