import Foundation
import SQLiteNIO

/// Robot accounts on SQLite.
extension SQLiteMetadataStore: RobotAccountStore {
    public func createRobotAccount(_ record: RobotAccountRecord) async throws -> Bool {
        try await transaction { db in
            try await !db.query(
                """
                INSERT INTO robot_accounts (name, secret_hash, repositories, actions, created_at, expires_at, disabled)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING name
                """,
                [
                    .text(record.name), .text(record.secretHash), .text(record.repositories.joined(separator: ",")),
                    .text(record.actions.joined(separator: ",")), .integer(Self.milliseconds(record.createdAt)),
                    record.expiresAt.map { .integer(Self.milliseconds($0)) } ?? .null, .integer(record.disabled ? 1 : 0),
                ]
            ).isEmpty
        }
    }

    public func robotAccount(named name: String) async throws -> RobotAccountRecord? {
        try await reader.query("SELECT * FROM robot_accounts WHERE name = ?", [.text(name)]).first.map(Self.robot)
    }

    public func robotAccounts() async throws -> [RobotAccountRecord] {
        try await reader.query("SELECT * FROM robot_accounts ORDER BY name").map(Self.robot)
    }

    public func setRobotAccount(_ name: String, disabled: Bool) async throws -> Bool {
        try await transaction { db in
            try await !db.query(
                "UPDATE robot_accounts SET disabled = ? WHERE name = ? RETURNING name", [.integer(disabled ? 1 : 0), .text(name)]
            ).isEmpty
        }
    }

    public func deleteRobotAccount(_ name: String) async throws -> Bool {
        try await transaction { db in
            try await !db.query("DELETE FROM robot_accounts WHERE name = ? RETURNING name", [.text(name)]).isEmpty
        }
    }

    private static func milliseconds(_ date: Date) -> Int { Int(date.timeIntervalSince1970 * 1000) }

    private static func robot(_ row: SQLiteRow) throws -> RobotAccountRecord {
        guard let name = row.column("name")?.string, let hash = row.column("secret_hash")?.string,
              let repositories = row.column("repositories")?.string, let actions = row.column("actions")?.string,
              let created = row.column("created_at")?.integer
        else { throw MetadataError.corrupt("robot_accounts row is incomplete") }
        return RobotAccountRecord(
            name: name, secretHash: hash, repositories: repositories.split(separator: ",").map(String.init),
            actions: actions.split(separator: ",").map(String.init), createdAt: date(milliseconds: created),
            expiresAt: row.column("expires_at")?.integer.map(date(milliseconds:)), disabled: row.column("disabled")?.integer == 1)
    }
}
