import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Retention rules")
struct RetentionTests {
    private static func rules(dryRun: Bool) -> (inout RegistryConfiguration) -> Void {
        { configuration in
            configuration.gcGracePeriod = .zero
            configuration.gcInterval = nil
            configuration.retention = RetentionPolicy(
                rules: [
                    RetentionRule(repositories: RepositoryPattern("team/**"), keepLast: 2, keepMatching: TagExpression("release-[0-9]+")),
                    RetentionRule(repositories: RepositoryPattern("scratch/*"), keepUntaggedFor: .seconds(3600)),
                ],
                dryRun: dryRun)
        }
    }

    /// Pushes tags in this order, a few milliseconds apart so that their push times differ.
    private func pushTags(_ tags: [String], to repository: String, _ client: RegistryClient) async throws {
        for tag in tags {
            try await client.pushImage(to: repository, tag: tag)
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func tags(_ repository: String, _ client: RegistryClient) async throws -> [String] {
        try await client.request(.GET, "/v2/\(repository)/tags/list").json()["tags"] as? [String] ?? []
    }

    @Test func rulesKeepExactlyWhatTheySay() async throws {
        try await TestRegistry.with(configure: Self.rules(dryRun: false)) { client in
            try await pushTags(["release-1", "t1", "t2", "t3", "t4", "release-x"], to: "team/app", client)
            try await pushTags(["a", "b", "c"], to: "other/app", client)
            try await pushTags(["x", "y", "z"], to: "scratch/app", client)

            let deleted = try await client.collectGarbage(deleteUntagged: true)
            // team/**: the two newest (t4, release-x) and release-1 by name; the rest go.
            #expect(try await tags("team/app", client) == ["release-1", "release-x", "t4"])
            #expect((deleted["tags"] as? [String: [String]])?["team/app"] == ["t1", "t2", "t3"])
            // Their manifests are untagged now, and with --delete-untagged they go too.
            #expect((deleted["manifests"] as? [String: [String]])?["team/app"]?.count == 3)
            // No rule for other/app: every tag stays.
            #expect(try await tags("other/app", client) == ["a", "b", "c"])
            // scratch/*: keeps its tags and, for an hour, its untagged manifests.
            #expect(try await tags("scratch/app", client) == ["x", "y", "z"])
            for tag in ["release-1", "release-x", "t4"] { try await client.pullImage("team/app", tag: tag) }
        }
    }

    @Test func rulesInDryRunOnlyReport() async throws {
        try await TestRegistry.with(configure: Self.rules(dryRun: true)) { client in
            try await pushTags(["t1", "t2", "t3", "t4"], to: "team/app", client)
            let reply = try await client.request(.POST, "/v2/_admin/gc")
            let report = try reply.json()
            let wouldDelete = report["retention_dry_run"] as? [String: Any]
            #expect((wouldDelete?["tags"] as? [String: [String]])?["team/app"] == ["t1", "t2"])
            #expect((report["deleted"] as? [String: Any])?["tags_deleted"] as? Int == 0)
            #expect(try await tags("team/app", client) == ["t1", "t2", "t3", "t4"])
        }
    }
}
