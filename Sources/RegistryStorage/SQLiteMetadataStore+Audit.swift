import Foundation
import SQLiteNIO

/// The audit log on SQLite: each record is an entry (its time and a context id), each distinct
/// context stored once (see `SQLiteSchema.auditLog`). A batch is one transaction: the contexts
/// it uses, found or made, then multi-row inserts of two integers per record. Pruning deletes
/// in slices so that it never holds the write lock for long.
extension SQLiteMetadataStore: AuditLogStore {
    /// Entries per `INSERT` (two values each, well under SQLite's limit of bound parameters).
    private static let auditEntriesPerStatement = 250
    /// Context ids per check that they still exist.
    private static let auditContextsPerCheck = 500
    /// Contexts per `INSERT` into the table of those to find (nine values each).
    private static let auditContextsPerInsert = 100
    /// Entries deleted per pruning transaction.
    private static let auditPruneSlice = 10_000

    public func appendAuditRecords(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let batch = AuditBatch(records)
        let known = auditContextIDs.lookUp(batch.contexts)
        let ids = try await transaction { db in
            let ids = try await Self.contextIDs(of: batch, known: known, on: db)
            var start = 0
            while start < batch.entries.count {
                let end = min(start + Self.auditEntriesPerStatement, batch.entries.count)
                var binds: [SQLiteData] = []
                binds.reserveCapacity((end - start) * 2)
                for (at, context) in batch.entries[start..<end] {
                    binds.append(.integer(at))
                    binds.append(.integer(Int(ids[context])))
                }
                let placeholders = Array(repeating: "(?, ?)", count: end - start).joined(separator: ", ")
                _ = try await db.query("INSERT INTO audit_entries (at, context_id) VALUES \(placeholders)", binds)
                start = end
            }
            return ids
        }
        auditContextIDs.remember(batch.contexts, ids: ids)
    }

    /// The id of each of `batch`'s contexts, marked as used up to the batch's newest record.
    /// A cached id is trusted only once this transaction found its context still there:
    /// pruning (perhaps by another process) may have deleted it since. The others are found,
    /// or made, all at once.
    private static func contextIDs(of batch: AuditBatch, known: [Int64?], on db: SQLiteConnection) async throws -> [Int64] {
        let alive = try await markUsed(known.compactMap { $0 }, at: batch.newest, on: db)
        var ids = known
        let missing = ids.indices.filter { index in ids[index].map { !alive.contains($0) } ?? true }
        if !missing.isEmpty {
            let found = try await findOrAdd(missing.map { batch.contexts[$0] }, usedAt: batch.newest, on: db)
            for (index, id) in zip(missing, found) { ids[index] = id }
        }
        return try ids.map { id in
            guard let id else { throw MetadataError.corrupt("an audit context was neither found nor made") }
            return id
        }
    }

    /// Moves the contexts' `last_at` up to `at`; returns the ids that still exist.
    private static func markUsed(_ ids: [Int64], at: Int, on db: SQLiteConnection) async throws -> Set<Int64> {
        var alive = Set<Int64>()
        var start = 0
        while start < ids.count {
            let slice = ids[start..<min(start + auditContextsPerCheck, ids.count)]
            let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ", ")
            let rows = try await db.query(
                "UPDATE audit_contexts SET last_at = max(last_at, ?) WHERE id IN (\(placeholders)) RETURNING id",
                [.integer(at)] + slice.map { .integer(Int($0)) })
            alive.formUnion(rows.compactMap { $0.column("id")?.int64 })
            start = slice.endIndex
        }
        return alive
    }

    /// A stored context `c` that is the new one `n`.
    private static let sameContext = SQLiteSchema.sameAuditContext("c", "n")

    /// The ids of `contexts` (distinct), found or made, through the writer connection's
    /// temporary table `audit_new_contexts`: a few statements whatever their number (a
    /// registry that just started knows none of the contexts it is about to write).
    private static func findOrAdd(_ contexts: [AuditContext], usedAt: Int, on db: SQLiteConnection) async throws -> [Int64?] {
        _ = try await db.query("DELETE FROM temp.audit_new_contexts")
        var start = 0
        while start < contexts.count {
            let end = min(start + auditContextsPerInsert, contexts.count)
            var binds: [SQLiteData] = []
            binds.reserveCapacity((end - start) * 9)
            for slot in start..<end {
                let context = contexts[slot]
                binds += [
                    .integer(slot), context.reference.map { .text($0) } ?? .null, context.repository.map { .text($0) } ?? .null,
                    .text(context.action), context.user.map { .text($0) } ?? .null, .text(context.address),
                    .text(context.userAgent), .integer(context.status), .integer(context.isRobot ? 1 : 0),
                ]
            }
            let placeholders = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: end - start).joined(separator: ", ")
            _ = try await db.query(
                """
                INSERT INTO temp.audit_new_contexts (slot, reference, repository, action, user_name, address, user_agent, status, robot)
                VALUES \(placeholders)
                """,
                binds)
            start = end
        }
        _ = try await db.query(
            """
            UPDATE audit_contexts SET last_at = max(last_at, ?)
            WHERE id IN (SELECT c.id FROM temp.audit_new_contexts n JOIN audit_contexts c ON \(sameContext))
            """,
            [.integer(usedAt)])
        _ = try await db.query(
            """
            INSERT INTO audit_contexts (reference, repository, action, user_name, address, user_agent, status, robot, last_at)
            SELECT reference, repository, action, user_name, address, user_agent, status, robot, ? FROM temp.audit_new_contexts n
            WHERE NOT EXISTS (SELECT 1 FROM audit_contexts c WHERE \(sameContext))
            ORDER BY slot
            """,
            [.integer(usedAt)])
        let rows = try await db.query(
            "SELECT n.slot, min(c.id) AS id FROM temp.audit_new_contexts n JOIN audit_contexts c ON \(sameContext) GROUP BY n.slot")
        var ids = [Int64?](repeating: nil, count: contexts.count)
        for row in rows {
            guard let slot = row.column("slot")?.integer, ids.indices.contains(slot) else { continue }
            ids[slot] = row.column("id")?.int64
        }
        return ids
    }

    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let since = query.since {
            conditions.append("e.at >= ?")
            binds.append(.integer(Int(since.timeIntervalSince1970 * 1000)))
        }
        for (column, value) in [("c.user_name", query.user), ("c.repository", query.repository), ("c.action", query.action)] {
            guard let value else { continue }
            conditions.append("\(column) = ?")
            binds.append(.text(value))
        }
        if let after = query.afterID {
            conditions.append("e.id > ?")
            binds.append(.integer(Int(after)))
        }
        if let before = query.beforeID {
            conditions.append("e.id < ?")
            binds.append(.integer(Int(before)))
        }
        binds.append(.integer(max(0, query.limit)))
        let rows = try await reader.query(
            """
            SELECT e.id, e.at, c.user_name, c.robot, c.address, c.user_agent, c.action, c.repository, c.reference, c.status
            FROM audit_entries e JOIN audit_contexts c ON c.id = e.context_id
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY e.id \(query.newestFirst ? "DESC" : "ASC") LIMIT ?
            """,
            binds)
        return try rows.map { row in
            guard let id = row.column("id")?.integer, let at = row.column("at")?.integer,
                  let action = row.column("action")?.string, let status = row.column("status")?.integer
            else { throw MetadataError.corrupt("audit entry is incomplete") }
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
                    "DELETE FROM audit_entries WHERE id IN (SELECT id FROM audit_entries WHERE at < ? ORDER BY at LIMIT ?) RETURNING id",
                    [.integer(cutoff), .integer(Self.auditPruneSlice)]
                ).count
            }
            total += deleted
            if deleted < Self.auditPruneSlice { break }
        }
        // Every entry of these is older than the cutoff, so deleted above.
        try await transaction { db in
            _ = try await db.query("DELETE FROM audit_contexts WHERE last_at < ?", [.integer(cutoff)])
        }
        return total
    }
}

/// A batch of audit records as the SQLite log stores them: its distinct contexts, and per record
/// its time (milliseconds) and the index of its context.
private struct AuditBatch {
    var contexts: [AuditContext] = []
    var entries: [(at: Int, context: Int)] = []
    /// The newest record's time: what the contexts' `last_at` must reach.
    var newest = Int.min

    init(_ records: [AuditRecord]) {
        var indexes: [AuditContext: Int] = [:]
        entries.reserveCapacity(records.count)
        for record in records {
            let at = Int(record.time.timeIntervalSince1970 * 1000)
            newest = max(newest, at)
            let context = AuditContext(record)
            // Records come in runs of one client's requests: most are in the previous one's context.
            if let last = entries.last, contexts[last.context] == context {
                entries.append((at, last.context))
                continue
            }
            if let index = indexes[context] {
                entries.append((at, index))
            } else {
                indexes[context] = contexts.count
                entries.append((at, contexts.count))
                contexts.append(context)
            }
        }
    }
}
