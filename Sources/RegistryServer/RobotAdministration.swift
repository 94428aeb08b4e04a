import Foundation
import RegistryCore
import RegistryStorage

/// `registry robot add|list|disable|enable|remove`: robot accounts in the metadata database of a
/// registry, changed while it serves (servers see a change within
/// ``RobotAccounts/defaultCacheLifetime``).
public struct RobotAdministration: Sendable {
    let store: any RobotAccountStore

    public init(store: any RobotAccountStore) {
        self.store = store
    }

    /// Creates a robot and returns it with its secret, which is stored only as a hash.
    public func add(
        name: String, repositories: [String], actions: [String], expiresIn: String?, now: Date = Date()
    ) async throws -> (record: RobotAccountRecord, secret: String) {
        let name = try RobotAccount.canonicalName(name)
        let patterns = repositories.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !patterns.isEmpty else { throw RobotAccountError.noRepositories }
        let names = actions.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let parsed = names.compactMap(Action.init(rawValue:))
        guard !names.isEmpty, parsed.count == names.count else { throw RobotAccountError.invalidActions(actions.joined(separator: ",")) }
        var expiresAt: Date?
        if let expiresIn {
            let lifetime = try DurationParser.parse(expiresIn, key: "--expires")
            expiresAt = now.addingTimeInterval(Double(lifetime.components.seconds))
        }
        let secret = RobotSecret.generate()
        let record = RobotAccountRecord(
            name: name, secretHash: RobotSecret.hash(secret), repositories: patterns,
            actions: Set(parsed).sorted().map(\.rawValue), createdAt: now, expiresAt: expiresAt)
        guard try await store.createRobotAccount(record) else { throw RobotAccountError.exists(name) }
        return (record, secret)
    }

    public func list() async throws -> [RobotAccountRecord] {
        try await store.robotAccounts()
    }

    public func setDisabled(_ name: String, _ disabled: Bool) async throws {
        let name = try RobotAccount.canonicalName(name)
        guard try await store.setRobotAccount(name, disabled: disabled) else { throw RobotAccountError.notFound(name) }
    }

    public func remove(_ name: String) async throws {
        let name = try RobotAccount.canonicalName(name)
        guard try await store.deleteRobotAccount(name) else { throw RobotAccountError.notFound(name) }
    }

    /// `registry robot list`'s table: name, state, rights, creation and expiry.
    public static func table(_ records: [RobotAccountRecord], now: Date = Date()) -> String {
        let rows = records.map { record -> [String] in
            let state = record.disabled ? "disabled" : record.expiresAt.map { $0 <= now } == true ? "expired" : "active"
            return [
                record.name, state, record.repositories.joined(separator: ","), record.actions.joined(separator: ","),
                AuditTime.format(record.createdAt), record.expiresAt.map(AuditTime.format) ?? "never",
            ]
        }
        return TextTable.render(header: ["NAME", "STATE", "REPOSITORIES", "ACTIONS", "CREATED", "EXPIRES"], rows: rows)
    }
}

/// Left-aligned columns separated by two spaces, for the commands' tables.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
