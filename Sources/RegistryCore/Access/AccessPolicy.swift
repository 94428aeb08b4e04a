/// Who may do what to which repository.
///
/// An admin may do everything. Otherwise the first rule that matches both the repository and the
/// user (by name, group, or `*`) decides; a repository that rules cover gives nothing to users
/// they do not name, and a repository no rule covers falls to the default actions (for any
/// signed-in user). Anonymous clients get `pull` only where anonymous pulls are
/// enabled, and never anything else.
public struct AccessPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var repositories: RepositoryPattern
        /// User names, or `*` for every signed-in user.
        public var users: Set<String>
        public var groups: Set<String>
        public var actions: Set<Action>

        public init(repositories: RepositoryPattern, users: Set<String> = [], groups: Set<String> = [], actions: Set<Action>) {
            self.repositories = repositories
            self.users = users
            self.groups = groups
            self.actions = actions
        }

        func applies(to user: String, groups memberOf: Set<String>) -> Bool {
            users.contains("*") || users.contains(user) || !groups.isDisjoint(with: memberOf)
        }
    }

    public var admins: Set<String>
    /// Group name -> members.
    public var groups: [String: Set<String>]
    public var rules: [Rule]
    public var defaultActions: Set<Action>
    public var anonymousPull: Bool

    public init(
        admins: Set<String> = [], groups: [String: Set<String>] = [:], rules: [Rule] = [],
        defaultActions: Set<Action> = [.pull, .push, .delete], anonymousPull: Bool = false
    ) {
        self.admins = admins
        self.groups = groups
        self.rules = rules
        self.defaultActions = defaultActions
        self.anonymousPull = anonymousPull
    }

    /// The actions `user` (nil: anonymous) may perform on `repository`.
    public func allowedActions(for user: String?, on repository: String) -> Set<Action> {
        guard let user else { return anonymousPull ? [.pull] : [] }
        let memberships = groupsOf(user)
        if admins.contains(user) || !memberships.isDisjoint(with: admins) { return Set(Action.allCases) }
        var covered = false
        for rule in rules where rule.repositories.matches(repository) {
            covered = true
            if rule.applies(to: user, groups: memberships) { return rule.actions }
        }
        return covered ? [] : defaultActions
    }

    /// Whether `user` is an admin, by name or through a group.
    public func isAdmin(_ user: String?) -> Bool {
        guard let user else { return false }
        return admins.contains(user) || !groupsOf(user).isDisjoint(with: admins)
    }

    private func groupsOf(_ user: String) -> Set<String> {
        Set(groups.filter { $0.value.contains(user) }.keys)
    }
}
