import RegistryModel

/// The tags a metadata write must leave where they are: the registry's immutable-tag rules as
/// they apply to one caller, decided by the core. The stores check them inside the write's
/// transaction, after every write before it (of this process or of another replica) and before
/// any after it, so no push or delete can slip between the check and the change.
public struct FrozenTags: Sendable {
    private let matches: (@Sendable (Tag) -> Bool)?

    /// Tags for which `matches` is true are frozen.
    public init(_ matches: @escaping @Sendable (Tag) -> Bool) {
        self.matches = matches
    }

    private init() {
        matches = nil
    }

    /// No tag is frozen: the write checks nothing.
    public static let none = FrozenTags()

    /// Whether no tag can be frozen, so the write can skip its checks.
    public var isEmpty: Bool { matches == nil }

    public func contains(_ tag: Tag) -> Bool {
        matches?(tag) ?? false
    }

    /// The first of `names` (tags as the database returns them) that is frozen.
    public func first(of names: some Sequence<String>) -> Tag? {
        guard !isEmpty else { return nil }
        return names.lazy.compactMap(Tag.init).first(where: contains)
    }
}

/// A write that would have moved or deleted a frozen tag. Nothing was written.
public struct FrozenTagChange: Error, Sendable, Equatable {
    public var tag: Tag

    public init(tag: Tag) {
        self.tag = tag
    }
}
