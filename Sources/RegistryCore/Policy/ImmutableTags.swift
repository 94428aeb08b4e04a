import RegistryModel

/// Tags that, once pushed, keep pointing at the same manifest: a tag a rule protects cannot be
/// moved to another manifest or deleted (by itself, with its manifest, or with its repository),
/// and retention never deletes it. Pushing the manifest it already points at again succeeds.
///
/// A rule applies to a tag when one of its repository globs matches the repository and its
/// expression matches the whole tag. The first such rule is the one named in refusals.
public struct ImmutableTagRules: Sendable, Equatable {
    public var rules: [ImmutableTagRule]

    public init(_ rules: [ImmutableTagRule] = []) {
        self.rules = rules
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// Whether any rule covers `repository` (a cheap test before looking at its tags).
    public func covers(_ repository: RepositoryName) -> Bool {
        rules.contains { $0.covers(repository) }
    }

    /// The rule that makes `tag` in `repository` immutable, if any.
    public func rule(protecting tag: Tag, in repository: RepositoryName) -> ImmutableTagRule? {
        rules.first { $0.covers(repository) && $0.tags.matches(tag.value) }
    }

    /// Throws the refusal for changing `tag` unless no rule protects it, or the caller is an
    /// admin and the rule lets admins override it.
    public func requireChangeable(
        _ tag: Tag, in repository: RepositoryName, change: ImmutableTagChange, isAdmin: Bool
    ) throws(RegistryError) {
        guard let rule = rule(protecting: tag, in: repository) else { return }
        if isAdmin && rule.adminsMayOverride { return }
        throw rule.refusal(tag, in: repository, change: change)
    }
}

/// One `immutable_tags` entry.
public struct ImmutableTagRule: Sendable, Equatable {
    /// Named in refusals, so that users know which policy stopped them.
    public var name: String
    public var repositories: [RepositoryPattern]
    /// Matched against the whole tag.
    public var tags: TagExpression
    /// Lets admins (see ``AccessControl/isAdmin(_:)``) move or delete the tags anyway.
    public var adminsMayOverride: Bool

    public init(name: String, repositories: [RepositoryPattern], tags: TagExpression, adminsMayOverride: Bool = false) {
        self.name = name
        self.repositories = repositories
        self.tags = tags
        self.adminsMayOverride = adminsMayOverride
    }

    func covers(_ repository: RepositoryName) -> Bool {
        repositories.contains { $0.matches(repository.value) }
    }

    /// `409 DENIED` (see ``ErrorCode/tagImmutable``), naming the rule.
    func refusal(_ tag: Tag, in repository: RepositoryName, change: ImmutableTagChange) -> RegistryError {
        RegistryError(
            .tagImmutable,
            message: "tag \(tag.value) of \(repository.value) is immutable (rule \"\(name)\"): it cannot be \(change.pastParticiple)",
            detail: ["rule": name, "tag": tag.value, "repository": repository.value])
    }
}

/// What a request would do to an immutable tag, for the refusal's message.
public enum ImmutableTagChange: Sendable {
    case moved
    case deleted
    case deletedWithManifest
    case deletedWithRepository

    var pastParticiple: String {
        switch self {
        case .moved: "moved to another manifest"
        case .deleted: "deleted"
        case .deletedWithManifest: "deleted, so neither can the manifest it points at"
        case .deletedWithRepository: "deleted, so neither can its repository"
        }
    }
}
