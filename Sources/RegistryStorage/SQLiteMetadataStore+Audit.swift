import Foundation
import SQLiteNIO

/// The audit log on SQLite: a batch is one transaction of multi-row inserts; pruning deletes in
/// slices so that it never holds the write lock for long.
extension SQLiteMetadataStore: AuditLogStore {
    /// Rows per `INSERT` (10 values each, well under SQLite's limit of bound parameters).
    private static let auditRowsPerStatement = 100
    /// Rows deleted per pruning transaction.
    private static let auditPruneSlice = 10_000

    public func appendAuditRecords(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        try await transaction { db in
            var start = records.startIndex
            while start < records.endIndex {
                let slice = records[start..<min(start + Self.auditRowsPerStatement, records.endIndex)]
                let placeholders = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: slice.count).joined(separator: ", ")
                var binds: [SQLiteData] = []
                binds.reserveCapacity(slice.count * 9)
                for record in slice {
                    binds += [
                        .integer(Int(record.time.timeIntervalSince1970 * 1000)), record.user.map { .text($0) } ?? .null,
                        .integer(record.isRobot ? 1 : 0), .text(record.address), .text(record.userAgent), .text(record.action),
                        record.repository.map { .text($0) } ?? .null, record.reference.map { .text($0) } ?? .null,
                        .integer(record.status),
                    ]
                }
                _ = try await db.query(
                    """
                    INSERT INTO audit_log (at, user_name, robot, address, user_agent, action, repository, reference, status)
                    VALUES \(placeholders)
                    """,
                    binds)
                start = slice.endIndex
            }
        }
    }

    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let since = query.since {
            conditions.append("at >= ?")
            binds.append(.integer(Int(since.timeIntervalSince1970 * 1000)))
        }
        for (column, value) in [("user_name", query.user), ("repository", query.repository), ("action", query.action)] {
            guard let value else { continue }
            conditions.append("\(column) = ?")
            binds.append(.text(value))
        }
        if let after = query.afterID {
            conditions.append("id > ?")
            binds.append(.integer(Int(after)))
        }
        if let before = query.beforeID {
            conditions.append("id < ?")
            binds.append(.integer(Int(before)))
        }
        binds.append(.integer(max(0, query.limit)))
        let rows = try await reader.query(
            """
            SELECT id, at, user_name, robot, address, user_agent, action, repository, reference, status FROM audit_log
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY id \(query.newestFirst ? "DESC" : "ASC") LIMIT ?
            """,
            binds)
        return try rows.map { row in
            guard let id = row.column("id")?.integer, let at = row.column("at")?.integer,
                  let action = row.column("action")?.string, let status = row.column("status")?.integer
            else { throw MetadataError.corrupt("audit_log row is incomplete") }
            return AuditRecord(
                id: Int64(id), time: Self.date(milliseconds: at), user: row.column("user_name")?.string,
                isRobot: row.column("robot")?.integer == 1, address: row.column("address")?.string ?? "",
                userAgent: row.column("user_agent")?.string ?? "", action: action,
                repository: row.column("repository")?.string, reference: row.column("reference")?.string, status: status)
        }
    }

    @discardableResult
    public func pruneAuditRecords(before date: Date) async throws -> Int {
        let cutoff = Int(date.timeIntervalSince1970 * 1000)
        var total = 0
        while true {
            let deleted = try await transaction { db in
                try await db.query(
                    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?) RETURNING id",
                    [.integer(cutoff), .integer(Self.auditPruneSlice)]
                ).count
            }
            total += deleted
            if deleted < Self.auditPruneSlice { return total }
        }
    }
}
