/// Which events an endpoint receives: those of its actions (all when none are listed) in
/// repositories matching one of its globs (all when none are listed).
public struct EventFilter: Sendable, Equatable {
    public var actions: Set<EventAction>
    public var repositories: [RepositoryPattern]

    public init(actions: Set<EventAction> = [], repositories: [RepositoryPattern] = []) {
        self.actions = actions
        self.repositories = repositories
    }

    public func matches(action: EventAction, repository: String) -> Bool {
        (actions.isEmpty || actions.contains(action))
            && (repositories.isEmpty || repositories.contains { $0.matches(repository) })
    }

    /// An outbox row's filter fields as stored (an unknown action, from a newer version, matches
    /// no endpoint that lists actions).
    public func matches(action: String, repository: String) -> Bool {
        guard let action = EventAction(rawValue: action) else { return actions.isEmpty && matches(repository: repository) }
        return matches(action: action, repository: repository)
    }

    private func matches(repository: String) -> Bool {
        repositories.isEmpty || repositories.contains { $0.matches(repository) }
    }
}
