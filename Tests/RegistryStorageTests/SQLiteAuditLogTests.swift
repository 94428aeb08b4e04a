import Foundation
import Logging
import NIOPosix
import SQLiteNIO
import Testing

@testable import RegistryStorage

@Suite("SQLite audit log")
struct SQLiteAuditLogTests {
    /// Schema version 5 kept one row per record with every value in it; version 6 a time and a
    /// shared context; version 7 the records of a context written by one batch in one row.
    /// Opening an older database moves every record over with its id, time and values,
    /// anonymous ones included.
    @Test func recordsOfASchemaVersion5DatabaseComeBackAfterTheUpgrade() async throws {
        try await withTemporaryDirectory("sqlite-audit") { directory in
            let path = directory + "/metadata.sqlite"
            let old = try await SQLiteConnection.open(storage: .file(path: path), threadPool: .singleton, logger: Logger(label: "test"), on: MultiThreadedEventLoopGroup.singleton.any())
            _ = try await old.query(
                """
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY, at INTEGER NOT NULL, user_name TEXT, robot INTEGER NOT NULL, address TEXT NOT NULL,
                    user_agent TEXT NOT NULL, action TEXT NOT NULL, repository TEXT, reference TEXT, status INTEGER NOT NULL)
                """)
            _ = try await old.query(
                """
                INSERT INTO audit_log VALUES
                    (7, 1000, 'alice', 0, '10.0.0.1', 'docker/27', 'push', 'team/app', 'v1', 201),
                    (8, 2000, NULL, 0, '10.0.0.2', 'curl/8', 'pull', 'team/app', 'v1', 200),
                    (9, 3000, NULL, 0, '10.0.0.2', 'curl/8', 'pull', 'team/app', 'v1', 200),
                    (12, 4000, 'robot$ci', 1, '10.0.0.3', 'skopeo', 'login', NULL, NULL, 401)
                """)
            _ = try await old.query("PRAGMA user_version=5")
            try await old.close()

            let store = try await SQLiteMetadataStore.open(path: path, logger: Logger(label: "test"))
            let records = try await store.auditRecords(AuditQuery(limit: 10))
            #expect(records == [
                AuditRecord(
                    id: 7, time: Date(timeIntervalSince1970: 1), user: "alice", isRobot: false, address: "10.0.0.1",
                    userAgent: "docker/27", action: "push", repository: "team/app", reference: "v1", status: 201),
                AuditRecord(
                    id: 8, time: Date(timeIntervalSince1970: 2), user: nil, isRobot: false, address: "10.0.0.2",
                    userAgent: "curl/8", action: "pull", repository: "team/app", reference: "v1", status: 200),
                AuditRecord(
                    id: 9, time: Date(timeIntervalSince1970: 3), user: nil, isRobot: false, address: "10.0.0.2",
                    userAgent: "curl/8", action: "pull", repository: "team/app", reference: "v1", status: 200),
                AuditRecord(
                    id: 12, time: Date(timeIntervalSince1970: 4), user: "robot$ci", isRobot: true, address: "10.0.0.3",
                    userAgent: "skopeo", action: "login", repository: nil, reference: nil, status: 401),
            ])
            // The two identical anonymous pulls share one context; a new record in it reuses it.
            try await store.appendAuditRecords([
                AuditRecord(
                    time: Date(timeIntervalSince1970: 5), user: nil, isRobot: false, address: "10.0.0.2", userAgent: "curl/8",
                    action: "pull", repository: "team/app", reference: "v1", status: 200),
            ])
            let counts = try await store.transaction { db in
                try await db.query("SELECT (SELECT count(*) FROM audit_contexts) AS contexts, (SELECT max(last_id) FROM audit_runs) AS newest")
            }
            #expect(counts.first?.column("contexts")?.integer == 3)
            #expect(counts.first?.column("newest")?.integer == 13)
            try await store.close()
        }
    }

    /// From version 6, ids go on after the last one given, even when pruning had deleted it:
    /// a paging cursor must never skip a new record.
    @Test func recordsOfASchemaVersion6DatabaseComeBackAndIdsAreNeverGivenTwice() async throws {
        try await withTemporaryDirectory("sqlite-audit") { directory in
            let path = directory + "/metadata.sqlite"
            let old = try await SQLiteConnection.open(storage: .file(path: path), threadPool: .singleton, logger: Logger(label: "test"), on: MultiThreadedEventLoopGroup.singleton.any())
            for statement in [
                """
                CREATE TABLE audit_contexts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, user_name TEXT, robot INTEGER NOT NULL, address TEXT NOT NULL,
                    user_agent TEXT NOT NULL, action TEXT NOT NULL, repository TEXT, reference TEXT, status INTEGER NOT NULL,
                    last_at INTEGER NOT NULL)
                """,
                "CREATE TABLE audit_entries (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, context_id INTEGER NOT NULL)",
                """
                INSERT INTO audit_contexts VALUES
                    (1, 'alice', 0, '10.0.0.1', 'docker/27', 'push', 'team/app', 'v1', 201, 1000),
                    (2, NULL, 0, '10.0.0.2', 'curl/8', 'pull', 'team/app', 'v1', 200, 3000)
                """,
                "INSERT INTO audit_entries VALUES (4, 1000, 1), (5, 2000, 2), (6, 3000, 2), (20, 3500, 2)",
                // Record 20 was pruned: the sequence remembers it.
                "DELETE FROM audit_entries WHERE id = 20",
                "PRAGMA user_version=6",
            ] {
                _ = try await old.query(statement)
            }
            try await old.close()

            let store = try await SQLiteMetadataStore.open(path: path, logger: Logger(label: "test"))
            let pull = { (seconds: Double) in
                AuditRecord(
                    time: Date(timeIntervalSince1970: seconds), user: nil, isRobot: false, address: "10.0.0.2",
                    userAgent: "curl/8", action: "pull", repository: "team/app", reference: "v1", status: 200)
            }
            var first = pull(2)
            first.id = 5
            var second = pull(3)
            second.id = 6
            #expect(try await store.auditRecords(AuditQuery(action: "pull", limit: 10)) == [first, second])
            try await store.appendAuditRecords([pull(4), pull(5)])
            let newest = try await store.auditRecords(AuditQuery(limit: 2, newestFirst: true))
            #expect(newest.map(\.id) == [22, 21])
            #expect(newest.map(\.time) == [Date(timeIntervalSince1970: 5), Date(timeIntervalSince1970: 4)])
            #expect(try await store.auditRecords(AuditQuery(afterID: 4, limit: 10)).map(\.id) == [5, 6, 21, 22])
            try await store.close()
        }
    }
}
