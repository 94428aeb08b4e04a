import Foundation
import RegistryStorage
import Testing

@Suite("Audit log and robot accounts in the metadata database")
struct AuditAndRobotContractTests {
    /// Whole milliseconds: what both backends keep.
    private static func time(_ secondsAgo: Double, from now: Date) -> Date {
        Date(timeIntervalSince1970: ((now.timeIntervalSince1970 - secondsAgo) * 1000).rounded() / 1000)
    }

    private static func record(_ user: String?, _ action: String, _ repository: String?, at time: Date, robot: Bool = false) -> AuditRecord {
        AuditRecord(
            time: time, user: user, isRobot: robot, address: "127.0.0.1", userAgent: "test/1", action: action,
            repository: repository, reference: repository.map { _ in "v1" }, status: 200)
    }

    @Test(arguments: MetadataBackend.available)
    func auditRecordsComeBackWithEveryFieldAndFilter(_ backend: MetadataBackend) async throws {
        try await backend.withStore { (store: any StoreUnderTest) async throws in
            let now = Date()
            try await store.appendAuditRecords([
                Self.record("alice", "push", "team/app", at: Self.time(7200, from: now)),
                Self.record("robot$ci", "pull", "ci/app", at: Self.time(60, from: now), robot: true),
                Self.record(nil, "login", nil, at: Self.time(30, from: now)),
                Self.record("alice", "pull", "team/app", at: Self.time(10, from: now)),
            ])
            let all = try await store.auditRecords(AuditQuery(limit: 10))
            #expect(all.map(\.action) == ["push", "pull", "login", "pull"])
            #expect(all.map(\.id) == all.map(\.id).sorted { ($0 ?? 0) < ($1 ?? 0) })
            var expected = Self.record("robot$ci", "pull", "ci/app", at: Self.time(60, from: now), robot: true)
            expected.id = all[1].id
            #expect(all[1] == expected)
            #expect(all[2].user == nil && all[2].repository == nil && all[2].reference == nil)

            #expect(try await store.auditRecords(AuditQuery(user: "alice", limit: 10)).count == 2)
            #expect(try await store.auditRecords(AuditQuery(repository: "ci/app", limit: 10)).map(\.user) == ["robot$ci"])
            #expect(try await store.auditRecords(AuditQuery(action: "pull", limit: 10)).count == 2)
            #expect(try await store.auditRecords(AuditQuery(since: Self.time(3600, from: now), limit: 10)).count == 3)
            // Paging forwards by id, and the newest first.
            let first = try await store.auditRecords(AuditQuery(limit: 3))
            let rest = try await store.auditRecords(AuditQuery(afterID: first.last?.id, limit: 3))
            #expect((first + rest).map(\.id) == all.map(\.id))
            let newest = try await store.auditRecords(AuditQuery(limit: 2, newestFirst: true))
            #expect(newest.map(\.id) == [all[3].id, all[2].id])
            let older = try await store.auditRecords(AuditQuery(beforeID: newest.last?.id, limit: 2, newestFirst: true))
            #expect(older.map(\.id) == [all[1].id, all[0].id])
        }
    }

    /// A client chooses its user agent and its user name: quotes, backslashes, control
    /// characters and any Unicode must come back as they were sent, byte for byte, and a large
    /// batch keeps the order its records were taken in.
    @Test(arguments: MetadataBackend.available)
    func clientChosenTextComesBackExactlyAndABatchKeepsItsOrder(_ backend: MetadataBackend) async throws {
        try await backend.withStore { (store: any StoreUnderTest) async throws in
            let now = Self.time(0, from: Date())
            let hostile = "say \"hi\" \\ back\\slash\n\r\t\u{01}\u{1F}\u{7F} é 漢字 🐳 ],[null"
            var odd = AuditRecord(
                time: now, user: "\"quoted\\user\"", isRobot: false, address: "::1", userAgent: hostile, action: "pull",
                repository: "team/app", reference: "sha256:" + String(repeating: "a", count: 64), status: 404)
            // The same text to Swift's `==`, not in its bytes: each must come back as sent.
            let (composed, decomposed) = ("caf\u{E9}/1", "cafe\u{301}/1")
            let accents = [composed, decomposed].map {
                AuditRecord(
                    time: now, user: nil, isRobot: false, address: "::1", userAgent: $0, action: "pull", repository: "team/app",
                    reference: "v1", status: 200)
            }
            try await store.appendAuditRecords(
                [odd] + (0..<2500).map { Self.record("user\($0)", "pull", "r/\($0 % 7)", at: now) } + accents)
            let stored = try await store.auditRecords(AuditQuery(limit: 3000))
            #expect(stored.count == 2503)
            odd.id = stored.first?.id
            #expect(stored.first == odd)
            #expect(stored.dropFirst().prefix(2500).map(\.user) == (0..<2500).map { "user\($0)" })
            #expect(stored.suffix(2).map { Array($0.userAgent.utf8) } == [Array(composed.utf8), Array(decomposed.utf8)])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func pruningDeletesOnlyRecordsOlderThanTheCutoff(_ backend: MetadataBackend) async throws {
        try await backend.withStore { (store: any StoreUnderTest) async throws in
            let now = Date()
            try await store.appendAuditRecords(
                (0..<5).map { Self.record("old", "pull", "a", at: Self.time(Double(86400 + $0), from: now)) }
                    + [Self.record("new", "pull", "a", at: now)])
            #expect(try await store.pruneAuditRecords(before: now.addingTimeInterval(-3600)) == 5)
            #expect(try await store.auditRecords(AuditQuery(limit: 10)).map(\.user) == ["new"])
            #expect(try await store.pruneAuditRecords(before: now.addingTimeInterval(-3600)) == 0)
        }
    }

    /// Many clients' records, interleaved within batches and across them, some a day old among
    /// new ones of the same client: paging forwards and backwards, a few at a time, gives the
    /// whole listing in order, and pruning takes exactly the old records.
    @Test(arguments: MetadataBackend.available)
    func interleavedRecordsPageInOrderBothWaysAndArePrunedOneByOne(_ backend: MetadataBackend) async throws {
        try await backend.withStore { (store: any StoreUnderTest) async throws in
            let now = Self.time(0, from: Date())
            let old = Self.time(86400, from: now)
            for batch in 0..<3 {
                try await store.appendAuditRecords((0..<90).map { index in
                    Self.record("user\(index % 40)", "pull", "r/\(batch)", at: index % 3 == 0 ? old : now)
                })
            }
            let all = try await store.auditRecords(AuditQuery(limit: 1000))
            #expect(all.count == 270)
            #expect(all.map(\.user) == (0..<3).flatMap { _ in (0..<90).map { "user\($0 % 40)" } })
            #expect(all.map(\.id) == all.map(\.id).sorted { ($0 ?? 0) < ($1 ?? 0) })

            var forwards: [AuditRecord] = []
            while true {
                let page = try await store.auditRecords(AuditQuery(afterID: forwards.last?.id, limit: 7))
                forwards += page
                if page.count < 7 { break }
            }
            #expect(forwards == all)
            var backwards: [AuditRecord] = []
            while true {
                let page = try await store.auditRecords(AuditQuery(beforeID: backwards.last?.id, limit: 7, newestFirst: true))
                backwards += page
                if page.count < 7 { break }
            }
            #expect(backwards == all.reversed())
            #expect(try await store.auditRecords(AuditQuery(since: now, user: "user3", limit: 1000)).count == 6)

            #expect(try await store.pruneAuditRecords(before: now.addingTimeInterval(-3600)) == 90)
            #expect(try await store.auditRecords(AuditQuery(limit: 1000)) == all.filter { $0.time == now })
        }
    }

    /// A store may keep what it wrote before in memory (the SQLite log caches the ids of the
    /// contexts its records share); another process's pruning may delete it meanwhile, and that
    /// process may write records of its own. Records appended after that must all come back as
    /// they were.
    @Test(arguments: MetadataBackend.available)
    func recordsAppendedAfterAnotherProcessPrunedTheirKindAllComeBack(_ backend: MetadataBackend) async throws {
        try await backend.withStores(count: 2) { stores in
            let (writer, pruner) = (stores[0], stores[1])
            let now = Self.time(0, from: Date())
            try await writer.appendAuditRecords([Self.record("alice", "pull", "team/app", at: Self.time(86400, from: now))])
            #expect(try await pruner.pruneAuditRecords(before: now.addingTimeInterval(-3600)) == 1)
            try await pruner.appendAuditRecords([Self.record("bob", "push", "team/app", at: now)])
            try await writer.appendAuditRecords([
                Self.record("alice", "pull", "team/app", at: now), Self.record("carol", "pull", "team/app", at: now),
                Self.record("alice", "pull", "team/app", at: now),
            ])
            let stored = try await pruner.auditRecords(AuditQuery(limit: 10))
            #expect(stored.map(\.user) == ["bob", "alice", "carol", "alice"])
            #expect(stored.map(\.action) == ["push", "pull", "pull", "pull"])
            #expect(stored.allSatisfy { $0.time == now && $0.repository == "team/app" })
        }
    }

    @Test(arguments: MetadataBackend.available)
    func robotAccountsAreCreatedOnceListedDisabledAndDeleted(_ backend: MetadataBackend) async throws {
        try await backend.withStore { (store: any StoreUnderTest) async throws in
            let created = Self.time(0, from: Date())
            let robot = RobotAccountRecord(
                name: "robot$ci", secretHash: "sha256:00", repositories: ["ci/**", "tools/*"], actions: ["pull", "push"],
                createdAt: created, expiresAt: created.addingTimeInterval(86400))
            #expect(try await store.createRobotAccount(robot))
            var other = robot
            other.name = "robot$another"
            other.expiresAt = nil
            #expect(try await store.createRobotAccount(other))
            // The name is taken: nothing changes.
            var again = robot
            again.secretHash = "sha256:ff"
            #expect(try await store.createRobotAccount(again) == false)
            #expect(try await store.robotAccount(named: "robot$ci") == robot)
            #expect(try await store.robotAccount(named: "robot$nobody") == nil)
            #expect(try await store.robotAccounts().map(\.name) == ["robot$another", "robot$ci"])

            #expect(try await store.setRobotAccount("robot$ci", disabled: true))
            #expect(try await store.robotAccount(named: "robot$ci")?.disabled == true)
            #expect(try await store.setRobotAccount("robot$ci", disabled: false))
            #expect(try await store.robotAccount(named: "robot$ci")?.disabled == false)
            #expect(try await store.setRobotAccount("robot$nobody", disabled: true) == false)

            #expect(try await store.deleteRobotAccount("robot$ci"))
            #expect(try await store.deleteRobotAccount("robot$ci") == false)
            #expect(try await store.robotAccounts().map(\.name) == ["robot$another"])
        }
    }
}
