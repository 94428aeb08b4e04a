import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Immutable tags")
struct ImmutableTagTests {
    private static let releases = ImmutableTagRule(
        name: "releases", repositories: [RepositoryPattern("team/**")], tags: TagExpression(#"v[0-9]+\..*"#)!)

    private static func rules(_ rules: [ImmutableTagRule] = [releases]) -> (inout RegistryConfiguration) -> Void {
        { configuration in
            configuration.immutableTags = ImmutableTagRules(rules)
            configuration.gcGracePeriod = .zero
            configuration.gcInterval = nil
        }
    }

    private func expectRefused(_ reply: RegistryClient.Reply, rule: String = "releases") throws {
        #expect(reply.status == .conflict)
        #expect(reply.errorCode == "DENIED")
        let error = (try reply.json()["errors"] as? [[String: Any]])?.first
        #expect((error?["message"] as? String)?.contains("rule \"\(rule)\"") == true)
        #expect((error?["detail"] as? [String: String])?["rule"] == rule)
    }

    private func putManifest(_ manifest: [UInt8], _ path: String, _ client: RegistryClient, headers: [(String, String)] = []) async throws
        -> RegistryClient.Reply
    {
        try await client.request(.PUT, path, headers: headers + [("Content-Type", MediaType.ociManifest)], body: manifest)
    }

    @Test func matchingTagCannotMoveButTheSameManifestMayBePushedAgain() async throws {
        try await TestRegistry.with(configure: Self.rules()) { client in
            let first = try await client.pushImage(to: "team/app", tag: "v1.0")
            // Idempotent: the manifest the tag points at, again.
            #expect(try await putManifest(first.manifest, "/v2/team/app/manifests/v1.0", client).status == .created)

            let other = try await client.pushImage(to: "team/app", tag: "scratch")
            try expectRefused(try await putManifest(other.manifest, "/v2/team/app/manifests/v1.0", client))
            let pulled = try await client.request(.GET, "/v2/team/app/manifests/v1.0", headers: [("Accept", MediaType.ociManifest)])
            #expect(pulled.header("Docker-Content-Digest") == first.digest.description)
        }
    }

    @Test func tagsThatDoNotMatchMoveAndGoFreely() async throws {
        try await TestRegistry.with(configure: Self.rules()) { client in
            try await client.pushImage(to: "team/app", tag: "latest")
            try await client.pushImage(to: "team/app", tag: "latest")
            // Matching tag, repository outside the rule's globs.
            try await client.pushImage(to: "other/app", tag: "v1.0")
            try await client.pushImage(to: "other/app", tag: "v1.0")
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/latest").status == .accepted)
            #expect(try await client.request(.DELETE, "/v2/other/app/manifests/v1.0").status == .accepted)
        }
    }

    @Test func multiTagPushChecksEveryTagAndStoresNothingWhenOneIsRefused() async throws {
        try await TestRegistry.with(configure: Self.rules()) { client in
            try await client.pushImage(to: "team/app", tag: "v2.0")
            let other = try await client.pushImage(to: "team/app", tag: "build-1")
            let reply = try await putManifest(other.manifest, "/v2/team/app/manifests/\(other.digest)?tag=latest&tag=v2.0", client)
            try expectRefused(reply)
            let latest = try await client.request(.HEAD, "/v2/team/app/manifests/latest")
            #expect(latest.status == .notFound)
            // A new matching tag may be set by a multi-tag push.
            let fresh = try await putManifest(other.manifest, "/v2/team/app/manifests/\(other.digest)?tag=v3.0&tag=latest", client)
            #expect(fresh.status == .created)
        }
    }

    /// The rules are checked inside the write's transaction: of many pushes racing to set the
    /// same new protected tag to different manifests, exactly one is stored and answered 201.
    @Test func racingFirstPushesOfAProtectedTagLeaveItOnTheOnlyOneAnswered201() async throws {
        try await TestRegistry.with(configure: Self.rules()) { client in
            var images: [(manifest: [UInt8], digest: Digest)] = []
            for build in 0..<12 { images.append(try await client.pushImage(to: "team/app", tag: "build-\(build)")) }
            let statuses = try await withThrowingTaskGroup(of: (Digest, UInt).self) { group in
                for image in images {
                    group.addTask { (image.digest, try await putManifest(image.manifest, "/v2/team/app/manifests/v1.0", client).status.code) }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let stored = statuses.filter { $0.value == 201 }.map(\.key)
            #expect(stored.count == 1)
            #expect(statuses.values.filter { $0 == 409 }.count == images.count - 1)
            let pulled = try await client.request(.HEAD, "/v2/team/app/manifests/v1.0", headers: [("Accept", MediaType.ociManifest)])
            #expect(pulled.header("Docker-Content-Digest") == stored.first?.description)
        }
    }

    @Test func deletingTheTagItsManifestOrItsRepositoryIsRefused() async throws {
        try await TestRegistry.with(configure: Self.rules()) { client in
            let image = try await client.pushImage(to: "team/app", tag: "v1.2")
            try expectRefused(try await client.request(.DELETE, "/v2/team/app/manifests/v1.2"))
            try expectRefused(try await client.request(.DELETE, "/v2/team/app/manifests/\(image.digest)"))
            try expectRefused(try await client.request(.DELETE, "/v2/_admin/repositories/team/app"))
            #expect(try await client.request(.HEAD, "/v2/team/app/manifests/v1.2").status == .ok)
            // Deleting an unknown protected tag is still a plain 404.
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/v9.9").status == .notFound)
        }
    }

    @Test func adminsOverrideOnlyRulesThatAllowIt() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        let htpasswd = directory + "/htpasswd"
        try Htpasswd.setPassword("root-pw", for: "root", in: htpasswd, cost: 4)
        try Htpasswd.setPassword("dev-pw", for: "dev", in: htpasswd, cost: 4)
        let root = AuthTests.basic("root", "root-pw")
        let dev = AuthTests.basic("dev", "dev-pw")
        var overridable = Self.releases
        overridable.name = "betas"
        overridable.tags = TagExpression("beta-.*")!
        overridable.adminsMayOverride = true
        try await TestRegistry.with(configure: {
            Self.rules([Self.releases, overridable])(&$0)
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(admins: ["root"], defaultActions: [.pull, .push, .delete])
        }) { client in
            var asDev = client
            asDev.authorization = dev.1
            let first = try await asDev.pushImage(to: "team/app", tag: "v1.0")
            try await asDev.pushImage(to: "team/app", tag: "beta-1")
            let other = try await asDev.pushImage(to: "team/app", tag: "scratch")

            // Not an admin: both rules hold.
            try expectRefused(try await putManifest(other.manifest, "/v2/team/app/manifests/beta-1", client, headers: [dev]), rule: "betas")
            // An admin: the rule that allows it is overridden, the other holds.
            #expect(try await putManifest(other.manifest, "/v2/team/app/manifests/beta-1", client, headers: [root]).status == .created)
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/beta-1", headers: [root]).status == .accepted)
            try expectRefused(try await putManifest(other.manifest, "/v2/team/app/manifests/v1.0", client, headers: [root]))
            try expectRefused(try await client.request(.DELETE, "/v2/team/app/manifests/\(first.digest)", headers: [root]))
        }
    }

    @Test func retentionAndGarbageCollectionKeepImmutableTagsAndWhatTheyHold() async throws {
        try await TestRegistry.with(configure: {
            Self.rules()(&$0)
            $0.retention = RetentionPolicy(rules: [RetentionRule(repositories: RepositoryPattern("team/**"), keepLast: 1)])
        }) { client in
            let layer = RegistryClient.randomBytes(4096)
            try await client.pushImage(to: "team/app", tag: "v1.0", layers: [layer])
            try await Task.sleep(for: .milliseconds(5))
            try await client.pushImage(to: "team/app", tag: "t1")
            try await Task.sleep(for: .milliseconds(5))
            try await client.pushImage(to: "team/app", tag: "t2")

            let deleted = try await client.collectGarbage(deleteUntagged: true)
            // keep_last 1 keeps t2; t1 goes; v1.0 is immutable and stays, with its blobs.
            #expect((deleted["tags"] as? [String: [String]])?["team/app"] == ["t1"])
            let tags = try await client.request(.GET, "/v2/team/app/tags/list").json()["tags"] as? [String]
            #expect(tags == ["t2", "v1.0"])
            try await client.pullImage("team/app", tag: "v1.0")
            #expect(client.blobIsOnDisk(RegistryClient.digest(layer)))
        }
    }
}
