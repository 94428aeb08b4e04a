import Foundation
import PostgresNIO
import RegistryStorage

/// Robot accounts on PostgreSQL. Changes go through the write lock like every registry write,
/// so the other replicas' caches notice them.
extension PostgresMetadataStore: RobotAccountStore {
    public func createRobotAccount(_ record: RobotAccountRecord) async throws -> Bool {
        let logger = self.logger
        let (repositories, actions) = (record.repositories.joined(separator: ","), record.actions.joined(separator: ","))
        let (created, expires) = (Self.milliseconds(record.createdAt), record.expiresAt.map(Self.milliseconds))
        return try await transaction { db in
            try await !db.query(
                """
                INSERT INTO robot_accounts (name, secret_hash, repositories, actions, created_at, expires_at, disabled)
                VALUES (\(record.name), \(record.secretHash), \(repositories), \(actions), \(created), \(expires), \(record.disabled))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """,
                logger: logger
            ).collect().isEmpty
        }
    }

    public func robotAccount(named name: String) async throws -> RobotAccountRecord? {
        try await robots(query("\(unescaped: Self.robotColumns) WHERE name = \(name)")).first
    }

    public func robotAccounts() async throws -> [RobotAccountRecord] {
        try await robots(query("\(unescaped: Self.robotColumns) ORDER BY name"))
    }

    public func setRobotAccount(_ name: String, disabled: Bool) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            try await !db.query(
                "UPDATE robot_accounts SET disabled = \(disabled) WHERE name = \(name) RETURNING name", logger: logger
            ).collect().isEmpty
        }
    }

    public func deleteRobotAccount(_ name: String) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            try await !db.query("DELETE FROM robot_accounts WHERE name = \(name) RETURNING name", logger: logger).collect().isEmpty
        }
    }

    private static let robotColumns =
        "SELECT name, secret_hash, repositories, actions, created_at, expires_at, disabled FROM robot_accounts"

    private func robots(_ rows: PostgresRowSequence) async throws -> [RobotAccountRecord] {
        var records: [RobotAccountRecord] = []
        for try await (name, hash, repositories, actions, created, expires, disabled) in rows.decode(
            (String, String, String, String, Int64, Int64?, Bool).self
        ) {
            records.append(RobotAccountRecord(
                name: name, secretHash: hash, repositories: repositories.split(separator: ",").map(String.init),
                actions: actions.split(separator: ",").map(String.init), createdAt: Self.date(milliseconds: created),
                expiresAt: expires.map(Self.date(milliseconds:)), disabled: disabled))
        }
        return records
    }
}
