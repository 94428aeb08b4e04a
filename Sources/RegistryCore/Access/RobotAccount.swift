import Foundation
import RegistryStorage

/// A robot account: a login for machines (CI systems) with exactly the rights it lists, never
/// the policy's defaults and never an admin's. Robots live in the metadata database, not in
/// htpasswd, and are named `robot$NAME` (Harbor's spelling), a prefix no user can sign in with.
public struct RobotAccount: Sendable, Equatable {
    public static let namePrefix = "robot$"

    public var name: String
    public var repositories: [RepositoryPattern]
    public var actions: Set<Action>
    public var createdAt: Date
    public var expiresAt: Date?
    public var disabled: Bool

    public init(
        name: String, repositories: [RepositoryPattern], actions: Set<Action>, createdAt: Date = Date(),
        expiresAt: Date? = nil, disabled: Bool = false
    ) {
        self.name = name
        self.repositories = repositories
        self.actions = actions
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.disabled = disabled
    }

    /// Reads a stored record; an action this version does not know is ignored (gives nothing).
    public init(record: RobotAccountRecord) {
        self.init(
            name: record.name, repositories: record.repositories.map(RepositoryPattern.init),
            actions: Set(record.actions.compactMap(Action.init(rawValue:))), createdAt: record.createdAt,
            expiresAt: record.expiresAt, disabled: record.disabled)
    }

    /// What the robot may do to `repository`: its actions where one of its globs matches.
    public func allowedActions(on repository: String) -> Set<Action> {
        repositories.contains { $0.matches(repository) } ? actions : []
    }

    public func isExpired(at now: Date = Date()) -> Bool {
        expiresAt.map { $0 <= now } ?? false
    }

    /// Whether `name` is a robot's (the `robot$` prefix). Such names are never looked up in htpasswd.
    public static func isRobotName(_ name: String?) -> Bool {
        name?.hasPrefix(namePrefix) == true
    }

    /// The full name for `name`, given with or without the prefix (`ci` -> `robot$ci`): after the
    /// prefix, lowercase letters, digits, `.`, `_` and `-`, 1 to 64 of them.
    public static func canonicalName(_ name: String) throws(RobotAccountError) -> String {
        let bare = name.hasPrefix(namePrefix) ? String(name.dropFirst(namePrefix.count)) : name
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard (1...64).contains(bare.count), bare.allSatisfy(allowed.contains) else {
            throw .invalidName(name)
        }
        return namePrefix + bare
    }
}

public enum RobotAccountError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case exists(String)
    case notFound(String)
    case invalidActions(String)
    case noRepositories

    public var description: String {
        switch self {
        case .invalidName(let name):
            "invalid robot name \"\(name)\": use 1 to 64 of a-z, 0-9, '.', '_', '-' (the robot$ prefix is added)"
        case .exists(let name): "robot \(name) exists already"
        case .notFound(let name): "no robot \(name)"
        case .invalidActions(let actions): "invalid actions \"\(actions)\": use pull, push and delete"
        case .noRepositories: "give at least one repository glob, e.g. --repositories 'ci/**'"
        }
    }
}
