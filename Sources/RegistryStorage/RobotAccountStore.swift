import Foundation

/// A robot account as the database keeps it: the secret only as a hash, rights as text.
public struct RobotAccountRecord: Sendable, Equatable {
    public var name: String
    /// `sha256:<hex>` of the secret (see `RobotSecret` in RegistryCore).
    public var secretHash: String
    /// Repository globs (`ci/**`).
    public var repositories: [String]
    /// `pull`, `push`, `delete`.
    public var actions: [String]
    public var createdAt: Date
    public var expiresAt: Date?
    public var disabled: Bool

    public init(
        name: String, secretHash: String, repositories: [String], actions: [String], createdAt: Date,
        expiresAt: Date?, disabled: Bool = false
    ) {
        self.name = name
        self.secretHash = secretHash
        self.repositories = repositories
        self.actions = actions
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.disabled = disabled
    }
}

/// Robot accounts in the metadata database (table `robot_accounts`), shared by every replica.
public protocol RobotAccountStore: Sendable {
    /// Stores a new robot; false, changing nothing, when one of that name exists.
    func createRobotAccount(_ record: RobotAccountRecord) async throws -> Bool
    func robotAccount(named name: String) async throws -> RobotAccountRecord?
    /// Every robot, by name.
    func robotAccounts() async throws -> [RobotAccountRecord]
    /// False when there is no such robot.
    func setRobotAccount(_ name: String, disabled: Bool) async throws -> Bool
    /// False when there is no such robot.
    func deleteRobotAccount(_ name: String) async throws -> Bool
}
