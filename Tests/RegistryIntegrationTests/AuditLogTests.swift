import Foundation
import Logging
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryStorage
import RegistryTestSupport
import Testing

/// The audit log against a real server: requests recorded at the HTTP edge, written in batches,
/// read back from the database, with `registry audit`'s output and the admin endpoint.
@Suite("Audit log")
struct AuditLogTests {
    static let agent = ("User-Agent", "audit-test/1.0")

    /// alice (admin) and bob (pull only on team/**), a robot that pushes to ci/**.
    static func withAuditedRegistry(
        _ configure: @escaping (inout RegistryConfiguration) -> Void = { _ in }, _ body: (RegistryClient, String) async throws -> Void
    ) async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(
                admins: ["alice"],
                rules: [.init(repositories: RepositoryPattern("team/**"), users: ["bob"], actions: [.pull])])
            configure(&$0)
        }) { client in
            let secret = try await RobotAccountTests.withRobots(client) { robots, _ in
                try await robots.add(name: "ci", repositories: ["ci/**"], actions: ["pull", "push"], expiresIn: nil).secret
            }
            try await body(client, secret)
        }
    }

    static func records(_ client: RegistryClient, _ query: AuditQuery = AuditQuery(limit: 1000)) async throws -> [AuditRecord] {
        try await RobotAccountTests.withRobots(client) { _, store in try await store.auditRecords(query) }
    }

    /// Waits until the recorder's batch (flushed every second) holds a record `matching`.
    static func waitForRecords(_ client: RegistryClient, where matching: (AuditRecord) -> Bool) async throws -> [AuditRecord] {
        var found: [AuditRecord] = []
        _ = try await RobotAccountTests.eventually {
            found = try await records(client)
            return found.contains(where: matching)
        }
        return found
    }

    /// Pushes (alice and the robot), pulls (bob), a refused push, a failed login, a collection.
    static func exercise(_ client: RegistryClient, robotSecret: String) async throws -> (Digest, Digest) {
        var alice = client
        alice.authorization = RobotAccountTests.basic("alice", "alice-pw")
        let layer = RegistryClient.randomBytes(300)
        let image = try await alice.pushImage(to: "team/app", tag: "v1", layers: [layer])
        var robot = client
        robot.authorization = RobotAccountTests.basic("robot$ci", robotSecret)
        try await robot.pushImage(to: "ci/app", tag: "build-7")
        let bob = [RobotAccountTests.bobHeader, agent]
        #expect(try await client.request(.GET, "/v2/team/app/manifests/v1", headers: bob).status == .ok)
        let layerDigest = RegistryClient.digest(layer)
        #expect(try await client.request(.GET, "/v2/team/app/blobs/\(layerDigest)", headers: bob).status == .ok)
        #expect(try await client.request(.POST, "/v2/team/app/blobs/uploads/", headers: bob).status == .forbidden)
        let failed = [("Authorization", RobotAccountTests.basic("alice", "wrong")), agent]
        #expect(try await client.request(.GET, "/v2/", headers: failed).status == .unauthorized)
        #expect(try await alice.request(.POST, "/v2/_admin/gc?dry_run=true", headers: [agent]).status == .ok)
        return (image.digest, layerDigest)
    }

    @Test func pushesPullsRefusalsLoginsAndCollectionsAreRecordedWithEveryField() async throws {
        try await Self.withAuditedRegistry { client, secret in
            let (_, layer) = try await Self.exercise(client, robotSecret: secret)
            let all = try await Self.waitForRecords(client) { $0.action == AuditAction.garbageCollection }

            let manifestPush = try #require(all.first { $0.action == "push" && $0.reference == "v1" })
            #expect(manifestPush.user == "alice" && !manifestPush.isRobot)
            #expect(manifestPush.repository == "team/app" && manifestPush.status == 201 && manifestPush.address == "127.0.0.1")
            // Blob uploads are recorded when they land (201), named by digest.
            #expect(all.contains { $0.action == "push" && $0.reference == layer.description && $0.user == "alice" })

            let robotPush = try #require(all.first { $0.action == "push" && $0.reference == "build-7" })
            #expect(robotPush.user == "robot$ci" && robotPush.isRobot && robotPush.repository == "ci/app")

            let pulls = all.filter { $0.action == "pull" && $0.user == "bob" }
            #expect(Set(pulls.compactMap(\.reference)) == ["v1", layer.description])
            #expect(pulls.allSatisfy { $0.userAgent == "audit-test/1.0" && $0.status == 200 && $0.repository == "team/app" })

            let denied = try #require(all.first { $0.user == "bob" && $0.status == 403 })
            #expect(denied.action == "push" && denied.repository == "team/app")

            let login = try #require(all.first { $0.action == "login" && $0.status == 401 })
            #expect(login.user == "alice" && login.userAgent == "audit-test/1.0")

            let collection = try #require(all.first { $0.action == "gc" })
            #expect(collection.user == "alice" && collection.status == 200)

            // Chunk-level steps and HEADs are not content reads or writes of their own.
            #expect(!all.contains { $0.status == 202 })
        }
    }

    @Test func auditCommandFiltersAndPrintsJSON() async throws {
        try await Self.withAuditedRegistry { client, secret in
            _ = try await Self.exercise(client, robotSecret: secret)
            _ = try await Self.waitForRecords(client) { $0.action == AuditAction.garbageCollection }
            var configuration = RegistryConfiguration()
            configuration.root = client.registry.root
            let maintenance = try await RootMaintenance.open(configuration, logger: RobotAccountTests.quiet)
            do {
                let table = try await maintenance.audit(AuditQuery(since: Date().addingTimeInterval(-3600), user: "robot$ci", limit: 100), json: false)
                let lines = table.split(separator: "\n")
                #expect(lines.first?.hasPrefix("TIME") == true)
                #expect(lines.dropFirst().allSatisfy { $0.contains("robot$ci") && $0.contains("robot") })
                #expect(lines.count > 2)

                let json = try await maintenance.audit(AuditQuery(repository: "team/app", action: "pull", limit: 1), json: true)
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
                #expect(entries.count == 1)
                #expect(entries[0]["user"] as? String == "bob" && entries[0]["robot"] as? Bool == false)
                #expect(entries[0]["address"] as? String == "127.0.0.1" && entries[0]["result"] as? String == "ok")
                #expect(entries[0]["user_agent"] as? String == "audit-test/1.0")
                try await maintenance.close()
            } catch {
                try? await maintenance.close()
                throw error
            }
        }
    }

    @Test func adminEndpointPagesWithLinkHeadersAndIsForAdminsOnly() async throws {
        try await Self.withAuditedRegistry { client, secret in
            _ = try await Self.exercise(client, robotSecret: secret)
            let stored = try await Self.waitForRecords(client) { $0.action == AuditAction.garbageCollection }
            let alice = [RobotAccountTests.aliceHeader]
            var path: String? = "/v2/_admin/audit?n=3&since=1h"
            var paged: [[String: Any]] = []
            var pages = 0
            while let next = path, pages < 100 {
                let reply = try await client.request(.GET, next, headers: alice)
                #expect(reply.status == .ok)
                let records = try #require(try reply.json()["records"] as? [[String: Any]])
                paged += records
                pages += 1
                path = reply.header("Link").flatMap { link in
                    link.split(separator: ";").first.map { String($0.dropFirst().dropLast()) }
                }
            }
            // Everything recorded up to the first page, in order, and the requests paging added none.
            let ids = paged.compactMap { $0["id"] as? Int64 ?? ($0["id"] as? Int).map(Int64.init) }
            #expect(Array(ids.prefix(stored.count)) == stored.compactMap(\.id))
            #expect(pages >= stored.count / 3)
            let filtered = try await client.request(.GET, "/v2/_admin/audit?user=robot$ci&action=push", headers: alice)
            let robotRecords = try #require(try filtered.json()["records"] as? [[String: Any]])
            #expect(!robotRecords.isEmpty && robotRecords.allSatisfy { $0["robot"] as? Bool == true })
            #expect(try await client.request(.GET, "/v2/_admin/audit", headers: [RobotAccountTests.bobHeader]).status == .forbidden)
            #expect(try await client.request(.GET, "/v2/_admin/audit").status == .unauthorized)
            let badSince = try await client.request(.GET, "/v2/_admin/audit?since=yesterday", headers: alice)
            #expect(badSince.status == .badRequest)
            #expect(badSince.errorCode == "UNSUPPORTED")
            // Numbers to `Double`, but no time: refused, not a trap converting them to milliseconds.
            for since in ["infs", "1e300s", "nanh"] {
                #expect(try await client.request(.GET, "/v2/_admin/audit?since=\(since)", headers: alice).status == .badRequest, "since=\(since)")
            }
            #expect(try await client.request(.GET, "/v2/_admin/audit?last=x", headers: alice).status == .badRequest)
        }
    }

    @Test func retentionPrunesOldRecords() async throws {
        try await Self.withAuditedRegistry({ $0.audit.retention = .seconds(10) }) { client, _ in
            let old = AuditRecord(
                time: Date().addingTimeInterval(-3600), user: "alice", isRobot: false, address: "127.0.0.1", userAgent: "old",
                action: "pull", repository: "team/app", reference: "v0", status: 200)
            // The pruner runs every second: the old record may be gone before anyone could look,
            // so only its disappearance is checked, and that the fresh push's records stay.
            try await RobotAccountTests.withRobots(client) { _, store in try await store.appendAuditRecords([old]) }
            var alice = client
            alice.authorization = RobotAccountTests.basic("alice", "alice-pw")
            try await alice.pushImage(to: "team/app", tag: "v1")
            // Pruned once a second (a tenth of the retention, at least 1 s); the fresh push stays.
            let pruned = try await RobotAccountTests.eventually {
                try await Self.records(client).contains { $0.userAgent == "old" } == false
            }
            #expect(pruned)
            // Written within the second after the push, and younger than the retention: kept.
            let kept = try await RobotAccountTests.eventually {
                try await Self.records(client).contains { $0.reference == "v1" }
            }
            #expect(kept)
        }
    }

    @Test func tokenFormLoginsNameTheirUserRefusedOrNot() async throws {
        try await Self.withAuditedRegistry({ $0.tokenRealm = "http://127.0.0.1/token" }) { client, _ in
            func form(_ fields: String) async throws -> RegistryClient.Reply {
                try await client.request(
                    .POST, "/token", headers: [("Content-Type", "application/x-www-form-urlencoded"), Self.agent],
                    body: Array("service=registry&scope=repository%3Ateam%2Fapp%3Apull&\(fields)".utf8))
            }
            let issued = try await form("grant_type=password&username=bob&password=bob-pw&access_type=offline")
            #expect(issued.status == .ok)
            let refresh = try #require(try issued.json()["refresh_token"] as? String)
            #expect(try await form("grant_type=password&username=bob&password=wrong").status == .unauthorized)
            #expect(try await form("grant_type=refresh_token&refresh_token=\(refresh)").status == .ok)

            var logins: [AuditRecord] = []
            _ = try await RobotAccountTests.eventually {
                logins = try await Self.records(client).filter { $0.action == "login" }
                return logins.count >= 3
            }
            #expect(logins.count == 3)
            #expect(logins.allSatisfy { $0.user == "bob" && $0.userAgent == "audit-test/1.0" })
            #expect(logins.map(\.status).sorted() == [200, 200, 401])
        }
    }

    @Test func disabledAuditLogRecordsNothing() async throws {
        try await Self.withAuditedRegistry({ $0.audit.enabled = false }) { client, secret in
            _ = try await Self.exercise(client, robotSecret: secret)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await Self.records(client).isEmpty)
        }
    }
}

extension RobotAccountTests {
    static let aliceHeader = ("Authorization", basic("alice", "alice-pw"))
    static let bobHeader = ("Authorization", basic("bob", "bob-pw"))
}
