import Foundation

/// Neither table is cached: robots have their own short-lived cache in `RobotAccounts`, and
/// nothing a request serves depends on the audit log.
extension Metadata: AuditLogStore, RobotAccountStore {
    public func appendAuditRecords(_ records: [AuditRecord]) async throws { try await base.appendAuditRecords(records) }
    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] { try await base.auditRecords(query) }
    @discardableResult
    public func pruneAuditRecords(before date: Date) async throws -> Int { try await base.pruneAuditRecords(before: date) }

    public func createRobotAccount(_ record: RobotAccountRecord) async throws -> Bool { try await base.createRobotAccount(record) }
    public func robotAccount(named name: String) async throws -> RobotAccountRecord? { try await base.robotAccount(named: name) }
    public func robotAccounts() async throws -> [RobotAccountRecord] { try await base.robotAccounts() }
    public func setRobotAccount(_ name: String, disabled: Bool) async throws -> Bool {
        try await base.setRobotAccount(name, disabled: disabled)
    }
    public func deleteRobotAccount(_ name: String) async throws -> Bool { try await base.deleteRobotAccount(name) }
}
