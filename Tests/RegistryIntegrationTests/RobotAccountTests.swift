import Foundation
import Logging
import RegistryCore
import RegistryServer
import RegistryStorage
import RegistryTestSupport
import Testing

/// Robot accounts against a real server: stored in the metadata database (opened here beside the
/// running server, as `registry robot` does), signing in with Basic or through `/token`.
@Suite("Robot accounts")
struct RobotAccountTests {
    static let quiet = Logger(label: "robot-test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A second handle on the server's database, as the `registry robot` command opens it.
    static func withRobots<T>(_ client: RegistryClient, _ body: (RobotAdministration, SQLiteMetadataStore) async throws -> T) async throws -> T {
        let store = try await SQLiteMetadataStore.open(path: client.registry.root + "/metadata.sqlite", readerCount: 1, logger: quiet)
        do {
            let result = try await body(RobotAdministration(store: store), store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Users from htpasswd (alice, an admin; bob, whose default rights are pull, push, delete)
    /// and whatever robots the test adds.
    static func withSecuredRegistry(
        token: Bool = false, _ configure: @escaping (inout RegistryConfiguration) -> Void = { _ in },
        _ body: (RegistryClient) async throws -> Void
    ) async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(admins: ["alice"])
            if token { $0.tokenRealm = "http://127.0.0.1/token" }
            configure(&$0)
        }, body)
    }

    static func basic(_ name: String, _ secret: String) -> String {
        "Basic " + Data("\(name):\(secret)".utf8).base64EncodedString()
    }

    /// Polls `condition` until it holds or `seconds` pass.
    static func eventually(within seconds: Double = 6, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    @Test func pullOnlyRobotPullsButCannotPush() async throws {
        try await Self.withSecuredRegistry { client in
            var alice = client
            alice.authorization = Self.basic("alice", "alice-pw")
            let image = try await alice.pushImage(to: "ci/app", tag: "v1")
            let secret = try await Self.withRobots(client) { robots, _ in
                try await robots.add(name: "reader", repositories: ["ci/**"], actions: ["pull"], expiresIn: nil).secret
            }
            let reader = [("Authorization", Self.basic("robot$reader", secret))]
            let pulled = try await client.request(.GET, "/v2/ci/app/manifests/v1", headers: reader)
            #expect(pulled.status == .ok)
            #expect(pulled.bytes == image.manifest)
            let push = try await client.request(.POST, "/v2/ci/app/blobs/uploads/", headers: reader)
            #expect(push.status == .forbidden)
            #expect(push.errorCode == "DENIED")
            // Outside its globs it has nothing, although the policy's defaults give users everything.
            #expect(try await client.request(.GET, "/v2/other/app/tags/list", headers: reader).status == .forbidden)
            #expect(try await client.request(.GET, "/v2/", headers: reader).status == .ok)
            let wrong = try await client.request(.GET, "/v2/", headers: [("Authorization", Self.basic("robot$reader", "guess"))])
            #expect(wrong.status == .unauthorized)
        }
    }

    @Test func pushRobotPushesOnlyWhereItsGlobsAllowAndIsNoAdmin() async throws {
        try await Self.withSecuredRegistry({ $0.accessPolicy.admins.insert("robot$ci") }) { client in
            let secret = try await Self.withRobots(client) { robots, _ in
                try await robots.add(name: "robot$ci", repositories: ["ci/**"], actions: ["pull,push"], expiresIn: "90d").secret
            }
            var robot = client
            robot.authorization = Self.basic("robot$ci", secret)
            let image = try await robot.pushImage(to: "ci/team/app", tag: "build-1")
            #expect(try await robot.request(.GET, "/v2/ci/team/app/manifests/build-1").bytes == image.manifest)
            let elsewhere = try await robot.request(.POST, "/v2/team/app/blobs/uploads/")
            #expect(elsewhere.status == .forbidden)
            // No delete right, and never an admin's, even when named among the admins.
            #expect(try await robot.request(.DELETE, "/v2/ci/team/app/manifests/\(image.digest)").status == .forbidden)
            #expect(try await robot.request(.POST, "/v2/_admin/gc?dry_run=true").status == .forbidden)
            // The catalog shows what it may pull.
            #expect(try await robot.request(.GET, "/v2/_catalog").json()["repositories"] as? [String] == ["ci/team/app"])
        }
    }

    @Test func disabledAndRemovedRobotsAreRefusedWithinSeconds() async throws {
        try await Self.withSecuredRegistry { client in
            try await Self.withRobots(client) { robots, _ in
                let secret = try await robots.add(name: "ci", repositories: ["ci/**"], actions: ["pull"], expiresIn: nil).secret
                let headers = [("Authorization", Self.basic("robot$ci", secret))]
                let status = { try await client.request(.GET, "/v2/ci/app/tags/list", headers: headers).status }
                #expect(try await status() == .notFound)

                try await robots.setDisabled("ci", true)
                // Once the server's cache of robots has outlived its lifetime, the robot is refused
                // (a stall of the busy machine only lets more time pass).
                try await Task.sleep(for: RobotAccounts.defaultCacheLifetime + .milliseconds(300))
                let refused = try await client.request(.GET, "/v2/ci/app/tags/list", headers: headers)
                #expect(refused.status == .unauthorized)
                #expect(refused.text.contains("disabled"))

                try await robots.setDisabled("robot$ci", false)
                #expect(try await Self.eventually { try await status() == .notFound })

                try await robots.remove("ci")
                #expect(try await Self.eventually { try await status() == .unauthorized })
                await #expect(throws: RobotAccountError.notFound("robot$ci")) { try await robots.remove("ci") }
            }
        }
    }

    @Test func expiredRobotIsRefused() async throws {
        try await Self.withSecuredRegistry { client in
            let secret = try await Self.withRobots(client) { robots, _ in
                try await robots.add(name: "brief", repositories: ["ci/**"], actions: ["pull"], expiresIn: "1s").secret
            }
            let headers = [("Authorization", Self.basic("robot$brief", secret))]
            try await Task.sleep(for: .milliseconds(1300))
            let refused = try await client.request(.GET, "/v2/", headers: headers)
            #expect(refused.status == .unauthorized)
            #expect(refused.text.contains("expired"))
        }
    }

    @Test func robotSignsInThroughTheTokenFlowAndGetsOnlyItsRights() async throws {
        try await Self.withSecuredRegistry(token: true) { client in
            try await Self.withRobots(client) { robots, _ in
                let secret = try await robots.add(name: "ci", repositories: ["ci/**"], actions: ["pull", "push"], expiresIn: nil).secret
                let credentials = ("Authorization", Self.basic("robot$ci", secret))
                let scopes = "scope=repository:ci/app:pull,push,delete&scope=repository:team/app:pull&scope=registry:catalog:*&scope=registry:admin:*"
                let reply = try await client.request(.GET, "/token?service=registry&\(scopes)&offline_token=true", headers: [credentials])
                #expect(reply.status == .ok)
                let token = try #require(try reply.json()["token"] as? String)
                let access = try Self.accessClaim(token)
                #expect(access.count == 1)
                #expect(access.first?["name"] as? String == "ci/app")
                #expect(access.first?["actions"] as? [String] == ["pull", "push"])
                let bearer = [("Authorization", "Bearer \(token)")]
                #expect(try await client.request(.POST, "/v2/ci/app/blobs/uploads/", headers: bearer).status == .accepted)
                #expect(try await client.request(.POST, "/v2/team/app/blobs/uploads/", headers: bearer).status == .unauthorized)

                // The POST form (what docker sends with a refresh token) and a wrong secret.
                let refresh = try #require(try reply.json()["refresh_token"] as? String)
                let form = Array("grant_type=refresh_token&refresh_token=\(refresh)&service=registry&scope=repository:ci/app:pull".utf8)
                let headers = [("Content-Type", "application/x-www-form-urlencoded")]
                #expect(try await client.request(.POST, "/token", headers: headers, body: form).status == .ok)
                let wrong = try await client.request(
                    .GET, "/token?service=registry&scope=repository:ci/app:pull", headers: [("Authorization", Self.basic("robot$ci", "guess"))])
                #expect(wrong.status == .unauthorized)

                // Disabled: its tokens, and its refresh token, stop working within seconds.
                try await robots.setDisabled("ci", true)
                #expect(try await Self.eventually {
                    try await client.request(.GET, "/v2/ci/app/tags/list", headers: bearer).status == .unauthorized
                })
                #expect(try await client.request(.POST, "/token", headers: headers, body: form).status == .unauthorized)
            }
        }
    }

    @Test func theSecretIsStoredOnlyAsAHash() async throws {
        try await Self.withSecuredRegistry { client in
            let (record, secret) = try await Self.withRobots(client) { robots, _ in
                try await robots.add(name: "ci", repositories: ["ci/**"], actions: ["pull"], expiresIn: nil)
            }
            #expect(secret.count >= 43)
            #expect(record.secretHash == RobotSecret.hash(secret))
            #expect(!record.secretHash.contains(secret))
            let stored = try await Self.withRobots(client) { _, store in try await store.robotAccount(named: "robot$ci") }
            #expect(stored?.secretHash.hasPrefix("sha256:") == true)
            // Nowhere in the database's files.
            for file in ["metadata.sqlite", "metadata.sqlite-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: client.registry.root + "/" + file))) ?? Data()
                #expect(bytes.range(of: Data(secret.utf8)) == nil)
            }
        }
    }

    @Test func robotsAloneTurnLoginsOnWhenConfigured() async throws {
        try await TestRegistry.with(configure: { $0.robots = true }) { client in
            let secret = try await Self.withRobots(client) { robots, _ in
                try await robots.add(name: "ci", repositories: ["ci/**"], actions: ["pull", "push"], expiresIn: nil).secret
            }
            #expect(try await client.request(.POST, "/v2/ci/app/blobs/uploads/").status == .unauthorized)
            var robot = client
            robot.authorization = Self.basic("robot$ci", secret)
            try await robot.pushImage(to: "ci/app", tag: "v1")
        }
    }

    /// The `registry robot` commands, run as the built binary against a real root.
    @Test func robotCommandsAddListDisableAndRemove() async throws {
        let binary = Program.registry
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the registry binary first")
        try await TestRegistry.with(configure: { $0.robots = true }) { client in
            let root = client.registry.root
            let added = try await Program.run(
                binary, "robot", "add", "ci", "--repositories", "ci/**", "--actions", "pull,push", "--expires", "90d", "--root", root
            ).checked("registry robot add")
            let secret = try #require(added.split(separator: "\n").last.map(String.init))
            #expect(added.contains("robot$ci"))
            #expect(try await client.request(.GET, "/v2/", headers: [("Authorization", Self.basic("robot$ci", secret))]).status == .ok)
            let listed = try await Program.run(binary, "robot", "list", "--root", root).checked("registry robot list")
            #expect(listed.contains("robot$ci") && listed.contains("active") && listed.contains("ci/**") && listed.contains("pull,push"))
            _ = try await Program.run(binary, "robot", "disable", "ci", "--root", root).checked("registry robot disable")
            #expect(try await Program.run(binary, "robot", "list", "--root", root).checked("registry robot list").contains("disabled"))
            _ = try await Program.run(binary, "robot", "remove", "ci", "--root", root).checked("registry robot remove")
            let remaining = try await Program.run(binary, "robot", "list", "--root", root).checked("registry robot list")
            #expect(!remaining.contains("robot$ci"))
            await #expect(throws: (any Error).self) {
                try await Program.run(binary, "robot", "remove", "ci", "--root", root).checked("registry robot remove")
            }
        }
    }

    /// The `access` claim of a JWT, read without verifying it.
    static func accessClaim(_ token: String) throws -> [[String: Any]] {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { throw TestFailure("not a JWT") }
        var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        guard let data = Data(base64Encoded: payload),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw TestFailure("bad payload") }
        return object["access"] as? [[String: Any]] ?? []
    }
}

