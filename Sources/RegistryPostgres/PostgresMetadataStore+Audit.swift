import Foundation
import PostgresNIO
import RegistryStorage

/// The audit log on PostgreSQL. Appends and pruning run outside the write lock (and so do not
/// move the change counter, which would empty every replica's read cache): audit rows take no
/// part in the registry's rules. A batch is one statement, hence one transaction.
extension PostgresMetadataStore: AuditLogStore {
    private static let auditPruneSlice = 10_000

    public func appendAuditRecords(_ records: [AuditRecord]) async throws {
        guard !records.isEmpty else { return }
        // Arrays cannot carry NULLs here: an empty string stands for none (no user, repository
        // or reference is ever empty).
        let times = records.map { Self.milliseconds($0.time) }
        let users = records.map { $0.user ?? "" }
        let robots = records.map(\.isRobot)
        let addresses = records.map(\.address)
        let agents = records.map(\.userAgent)
        let actions = records.map(\.action)
        let repositories = records.map { $0.repository ?? "" }
        let references = records.map { $0.reference ?? "" }
        let statuses = records.map { Int64($0.status) }
        _ = try await query(
            """
            INSERT INTO audit_log (at, user_name, robot, address, user_agent, action, repository, reference, status)
            SELECT t, NULLIF(u, ''), r, a, ua, act, NULLIF(repo, ''), NULLIF(ref, ''), s
            FROM unnest(\(times), \(users), \(robots), \(addresses), \(agents), \(actions), \(repositories), \(references), \(statuses))
                AS rows (t, u, r, a, ua, act, repo, ref, s)
            """
        ).collect()
    }

    public func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord] {
        let since = query.since.map(Self.milliseconds)
        let order = query.newestFirst ? "DESC" : "ASC"
        var records: [AuditRecord] = []
        let rows = try await self.query(
            """
            SELECT id, at, user_name, robot, address, user_agent, action, repository, reference, status FROM audit_log
            WHERE (\(since)::bigint IS NULL OR at >= \(since))
            AND (\(query.user)::text IS NULL OR user_name = \(query.user))
            AND (\(query.repository)::text IS NULL OR repository = \(query.repository))
            AND (\(query.action)::text IS NULL OR action = \(query.action))
            AND (\(query.afterID)::bigint IS NULL OR id > \(query.afterID))
            AND (\(query.beforeID)::bigint IS NULL OR id < \(query.beforeID))
            ORDER BY id \(unescaped: order) LIMIT \(Int64(max(0, query.limit)))
            """)
        for try await (id, at, user, robot, address, agent, action, repository, reference, status) in rows.decode(
            (Int64, Int64, String?, Bool, String, String, String, String?, String?, Int32).self
        ) {
            records.append(AuditRecord(
                id: id, time: Self.date(milliseconds: at), user: user, isRobot: robot, address: address, userAgent: agent,
                action: action, repository: repository, reference: reference, status: Int(status)))
        }
        return records
    }

    @discardableResult
    public func pruneAuditRecords(before date: Date) async throws -> Int {
        let cutoff = Self.milliseconds(date)
        let slice = Int64(Self.auditPruneSlice)
        var total = 0
        while true {
            let deleted = try await query(
                """
                DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < \(cutoff) ORDER BY at LIMIT \(slice))
                RETURNING id
                """
            ).collect().count
            total += deleted
            if deleted < Self.auditPruneSlice { return total }
        }
    }
}
