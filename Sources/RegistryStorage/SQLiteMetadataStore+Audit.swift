import Foundation
import NIOCore
import SQLiteNIO

/// The audit log on SQLite: each distinct context stored once, the records of one context that
/// one batch writes in one row (see `SQLiteSchema.auditRuns`). A batch is one transaction: the
/// contexts it uses, found or made, its ids, then its runs. Pruning deletes in slices so that it
/// never holds the write lock for long.
extension SQLiteMetadataStore: AuditLogStore {
    /// Runs per `INSERT` (eight values each, well under SQLite's limit of bound parameters).
    private static let auditRunsPerStatement = 100
    /// Context ids per check that they still exist.
    private static let auditContextsPerCheck = 500
    /// Contexts per `INSERT` into the table of those to find (nine values each).
    private static let auditContextsPerInsert = 100
    /// Runs deleted per pruning transaction.
    private static let auditPruneSlice = 1000
    /// Runs read per query while listing.
    private static let auditRunsPerRead = 32

    public func appendAuditRecords(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        let batch = AuditBatch(records)
        let known = auditContextIDs.lookUp(batch.contexts)
        let ids = try await transaction { db in
            let ids = try await Self.contextIDs(of: batch, known: known, on: db)
            let count = batch.entries.count
            guard let first = try await db.query(
                "UPDATE audit_sequence SET next_id = next_id + ? RETURNING next_id - ? AS first",
                [.integer(count), .integer(count)]
            ).first?.column("first")?.integer else {
                throw MetadataError.corrupt("audit_sequence has no row")
            }
            var runs = [AuditRun](repeating: AuditRun(), count: batch.contexts.count)
            for (offset, entry) in batch.entries.enumerated() {
                runs[entry.context].append(id: Int64(first + offset), at: Int64(entry.at))
            }
            try await Self.insert(runs, contextIDs: ids, on: db)
            return ids
        }
        auditContextIDs.remember(batch.contexts, ids: ids)
    }

    /// Inserts `runs`, the one at each index of `contextIDs`' context.
    private static func insert(_ runs: [AuditRun], contextIDs: [Int64], on db: SQLiteConnection) async throws {
        let columns = ["first_id", "last_id", "first_at", "min_at", "max_at", "count", "context_id", "entries"]
        try await insertRows(runs.count, into: "audit_runs", columns: columns, perStatement: auditRunsPerStatement, on: db) { index in
            let run = runs[index]
            return [
                .integer(Int(run.firstID)), .integer(Int(run.lastID)), .integer(Int(run.firstAt)), .integer(Int(run.minAt)),
                .integer(Int(run.maxAt)), .integer(run.count), .integer(Int(contextIDs[index])), .blob(ByteBuffer(bytes: run.entries)),
            ]
        }
    }

    /// Inserts `count` rows into `table`, `perStatement` to a multi-row `INSERT` (each statement
    /// is parsed anew: sqlite-nio keeps no prepared statements); `row` gives the values of each.
    private static func insertRows(
        _ count: Int, into table: String, columns: [String], perStatement: Int, on db: SQLiteConnection,
        row: (Int) -> [SQLiteData]
    ) async throws {
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var start = 0
        while start < count {
            let end = min(start + perStatement, count)
            var binds: [SQLiteData] = []
            binds.reserveCapacity((end - start) * columns.count)
            for index in start..<end { binds += row(index) }
            let values = Array(repeating: tuple, count: end - start).joined(separator: ", ")
            _ = try await db.query("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES \(values)", binds)
            start = end
        }
    }

    /// The records of a row of `audit_runs` (its `first_id`, `first_at` and `entries`).
    private static func records(ofRun row: SQLiteRow) throws -> [(id: Int64, at: Int64)] {
        guard let firstID = row.column("first_id")?.integer, let firstAt = row.column("first_at")?.integer,
              let entries = row.column("entries")?.blob,
              let records = AuditRun.decode(firstID: Int64(firstID), firstAt: Int64(firstAt), entries: Array(entries.readableBytesView))
        else { throw MetadataError.corrupt("audit run is unreadable") }
        return records
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
        let columns = ["slot", "reference", "repository", "action", "user_name", "address", "user_agent", "status", "robot"]
        try await insertRows(
            contexts.count, into: "temp.audit_new_contexts", columns: columns, perStatement: auditContextsPerInsert, on: db
        ) { slot in
            let context = contexts[slot]
            return [
                .integer(slot), context.reference.map { .text($0) } ?? .null, context.repository.map { .text($0) } ?? .null,
                .text(context.action), context.user.map { .text($0) } ?? .null, .text(context.address),
                .text(context.userAgent), .integer(context.status), .integer(context.isRobot ? 1 : 0),
            ]
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

    /// Reads runs a few at a time, in the listing's order of their first (oldest first) or
    /// last (newest first) record id, and keeps the `limit` records that come first. Runs of one
    /// batch interleave, so a record is known to come before every unread one only once a run
    /// starting after it (ending before it) was read: records of unread runs lie beyond the
    /// last read run's `first_id` (`last_id`).
    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        let limit = max(0, query.limit)
        guard limit > 0 else { return [] }
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        let since = query.since.map { Int64($0.timeIntervalSince1970 * 1000) }
        if let since {
            conditions.append("r.max_at >= ?")
            binds.append(.integer(Int(since)))
        }
        for (column, value) in [("c.user_name", query.user), ("c.repository", query.repository), ("c.action", query.action)] {
            guard let value else { continue }
            conditions.append("\(column) = ?")
            binds.append(.text(value))
        }
        if let after = query.afterID {
            conditions.append("r.last_id > ?")
            binds.append(.integer(Int(after)))
        }
        if let before = query.beforeID {
            conditions.append("r.first_id < ?")
            binds.append(.integer(Int(before)))
        }
        let newestFirst = query.newestFirst
        let comesFirst: (Int64, Int64) -> Bool = newestFirst ? { $0 > $1 } : { $0 < $1 }
        var kept: [AuditRecord] = []
        var cursor: Int64?
        while true {
            var pageConditions = conditions
            var pageBinds = binds
            if let cursor {
                pageConditions.append(newestFirst ? "r.last_id < ?" : "r.first_id > ?")
                pageBinds.append(.integer(Int(cursor)))
            }
            pageBinds.append(.integer(Self.auditRunsPerRead))
            let rows = try await reader.query(
                """
                SELECT r.first_id, r.last_id, r.first_at, r.entries,
                       c.user_name, c.robot, c.address, c.user_agent, c.action, c.repository, c.reference, c.status
                FROM audit_runs r JOIN audit_contexts c ON c.id = r.context_id
                \(pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND "))
                ORDER BY \(newestFirst ? "r.last_id DESC" : "r.first_id ASC") LIMIT ?
                """,
                pageBinds)
            for row in rows {
                guard let action = row.column("action")?.string, let status = row.column("status")?.integer else {
                    throw MetadataError.corrupt("audit context is incomplete")
                }
                let context = AuditRecord(
                    time: Date(timeIntervalSince1970: 0), user: row.column("user_name")?.string,
                    isRobot: row.column("robot")?.integer == 1, address: row.column("address")?.string ?? "",
                    userAgent: row.column("user_agent")?.string ?? "", action: action,
                    repository: row.column("repository")?.string, reference: row.column("reference")?.string, status: status)
                for (id, at) in try Self.records(ofRun: row) {
                    guard query.afterID.map({ id > $0 }) ?? true, query.beforeID.map({ id < $0 }) ?? true,
                          since.map({ at >= $0 }) ?? true
                    else { continue }
                    var record = context
                    record.id = id
                    record.time = Self.date(milliseconds: Int(at))
                    kept.append(record)
                }
            }
            // Past the first `limit` read so far, a record can never be listed.
            kept.sort { comesFirst($0.id ?? 0, $1.id ?? 0) }
            if kept.count > limit { kept.removeLast(kept.count - limit) }
            guard rows.count == Self.auditRunsPerRead, let last = rows.last,
                  let edge = (newestFirst ? last.column("last_id") : last.column("first_id"))?.integer
            else { return kept }
            if kept.count == limit, let final = kept.last?.id, !comesFirst(Int64(edge), final) { return kept }
            cursor = Int64(edge)
        }
    }

    @discardableResult
    public func pruneAuditRecords(before date: Date) async throws -> Int {
        let cutoff = Int(date.timeIntervalSince1970 * 1000)
        var total = 0
        while true {
            let counts = try await transaction { db in
                try await db.query(
                    """
                    DELETE FROM audit_runs WHERE first_id IN (SELECT first_id FROM audit_runs WHERE max_at < ? LIMIT ?)
                    RETURNING count
                    """,
                    [.integer(cutoff), .integer(Self.auditPruneSlice)]
                ).map { $0.column("count")?.integer ?? 0 }
            }
            total += counts.reduce(0, +)
            if counts.count < Self.auditPruneSlice { break }
        }
        // A run with records on both sides of the cutoff is made again with its newer ones.
        total += try await transaction { db in
            let rows = try await db.query(
                "SELECT first_id, first_at, context_id, entries FROM audit_runs WHERE min_at < ? AND max_at >= ?",
                [.integer(cutoff), .integer(cutoff)])
            var pruned = 0
            for row in rows {
                guard let contextID = row.column("context_id")?.integer, let firstID = row.column("first_id")?.integer else {
                    throw MetadataError.corrupt("audit run is unreadable")
                }
                let records = try Self.records(ofRun: row)
                var run = AuditRun()
                for record in records where record.at >= cutoff { run.append(id: record.id, at: record.at) }
                pruned += records.count - run.count
                _ = try await db.query("DELETE FROM audit_runs WHERE first_id = ?", [.integer(firstID)])
                try await Self.insert([run], contextIDs: [Int64(contextID)], on: db)
            }
            return pruned
        }
        // Every record of these is older than the cutoff, so deleted above.
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
