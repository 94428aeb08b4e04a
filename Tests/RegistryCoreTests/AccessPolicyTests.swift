import Foundation
import RegistryCore
import Testing

@Suite("Access policy")
struct AccessPolicyTests {
    @Test func globsMatchWithinAndAcrossSegments() {
        #expect(RepositoryPattern("team-a/**").matches("team-a/app"))
        #expect(RepositoryPattern("team-a/**").matches("team-a/x/y"))
        #expect(RepositoryPattern("team-a/**").matches("team-a"))
        #expect(!RepositoryPattern("team-a/**").matches("team-ab/app"))
        #expect(RepositoryPattern("public/*").matches("public/app"))
        #expect(!RepositoryPattern("public/*").matches("public/app/sub"))
        #expect(RepositoryPattern("app-?").matches("app-1"))
        #expect(!RepositoryPattern("app-?").matches("app-/"))
        #expect(RepositoryPattern("**").matches("anything/at/all"))
        #expect(RepositoryPattern("exact").matches("exact"))
        #expect(!RepositoryPattern("exact").matches("exactly"))
    }

    let policy = AccessPolicy(
        admins: ["root", "ops"],
        groups: ["team-a": ["bob", "carol"], "ops": ["olivia"]],
        rules: [
            .init(repositories: RepositoryPattern("team-a/**"), groups: ["team-a"], actions: [.pull, .push]),
            .init(repositories: RepositoryPattern("public/*"), users: ["*"], actions: [.pull]),
        ],
        defaultActions: [.pull])

    @Test func firstRuleMatchingRepositoryAndUserDecides() {
        var policy = self.policy
        policy.rules.insert(.init(repositories: RepositoryPattern("team-a/**"), users: ["erin"], actions: [.pull]), at: 0)
        #expect(policy.allowedActions(for: "erin", on: "team-a/app") == [.pull])
        #expect(policy.allowedActions(for: "bob", on: "team-a/app") == [.pull, .push])
        #expect(policy.allowedActions(for: "dave", on: "team-a/app") == [])
    }

    @Test func rulesGrantAndDefaultsApplyElsewhere() {
        #expect(policy.allowedActions(for: "bob", on: "team-a/app") == [.pull, .push])
        #expect(policy.allowedActions(for: "dave", on: "team-a/app") == [])
        #expect(policy.allowedActions(for: "dave", on: "public/app") == [.pull])
        #expect(policy.allowedActions(for: "dave", on: "elsewhere") == [.pull])
    }

    @Test func adminsAndAdminGroupsMayDoEverything() {
        #expect(policy.allowedActions(for: "root", on: "team-a/app") == Set(Action.allCases))
        #expect(policy.allowedActions(for: "olivia", on: "public/app") == Set(Action.allCases))
    }

    @Test func anonymousClientsPullOnlyWhenEnabled() {
        var policy = self.policy
        #expect(policy.allowedActions(for: nil, on: "public/app") == [])
        policy.anonymousPull = true
        #expect(policy.allowedActions(for: nil, on: "public/app") == [.pull])
    }

    @Test func htpasswdEntriesAreBcryptAndReloadedWhenTheFileChanges() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("htpasswd-\(UUID().uuidString)").path
        try Htpasswd.setPassword("first", for: "alice", in: path, cost: 4)
        let file = try Htpasswd(path: path)
        #expect(await file.verify(user: "alice", password: "first"))
        #expect(await !file.verify(user: "alice", password: "second"))
        #expect(await !file.verify(user: "nobody", password: "first"))
        try Htpasswd.setPassword("second", for: "alice", in: path, cost: 4)
        // The file is checked at most once a second; make the change visible by its mtime.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 5)], ofItemAtPath: path)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(await file.verify(user: "alice", password: "second"))
        #expect(try Htpasswd.removeUser("alice", from: path))
        #expect(try !Htpasswd.removeUser("alice", from: path))
        #expect(throws: HtpasswdError.self) { try Htpasswd.setPassword("x", for: "bad:name", in: path) }
    }

    @Test func plaintextAndCryptEntriesAreNeverAccepted() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("htpasswd-\(UUID().uuidString)").path
        try "plain:secret\nmd5:$apr1$abc$def\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = try Htpasswd(path: path)
        #expect(await !file.verify(user: "plain", password: "secret"))
        #expect(await !file.verify(user: "md5", password: "anything"))
    }

    @Test func failedLoginsAreThrottledPerAddressAndUser() {
        let throttle = LoginThrottle(limit: 3, window: 60, capacity: 4)
        let now = Date()
        for _ in 0..<3 { throttle.recordFailure(address: "10.0.0.1", user: "alice", now: now) }
        #expect(throttle.retryAfter(address: "10.0.0.1", user: "alice", now: now) == 60)
        #expect(throttle.retryAfter(address: "10.0.0.2", user: "alice", now: now) == nil)
        #expect(throttle.retryAfter(address: "10.0.0.1", user: "bob", now: now) == nil)
        #expect(throttle.retryAfter(address: "10.0.0.1", user: "alice", now: now.addingTimeInterval(61)) == nil)
        for index in 0..<20 { throttle.recordFailure(address: "10.1.0.\(index)", user: "x", now: now.addingTimeInterval(Double(index))) }
        #expect(throttle.trackedCount <= 4)
    }
}
