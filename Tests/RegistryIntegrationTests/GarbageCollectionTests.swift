import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Garbage collection")
struct GarbageCollectionTests {
    /// No grace period and no schedule: each test decides when a collection runs.
    private static func immediate(_ configuration: inout RegistryConfiguration) {
        configuration.gcGracePeriod = .zero
        configuration.gcInterval = nil
    }

    @Test func deletingOneOfTwoImagesSharingLayersFreesOnlyItsOwnLayers() async throws {
        try await TestRegistry.with(configure: Self.immediate) { client in
            let shared = RegistryClient.randomBytes(4096)
            let onlyA = RegistryClient.randomBytes(3000)
            let onlyB = RegistryClient.randomBytes(2000)
            let a = try await client.pushImage(to: "team/app", tag: "a", layers: [shared, onlyA])
            try await client.pushImage(to: "team/app", tag: "b", layers: [shared, onlyB])
            let beforeBytes = try client.bytesOnDisk()

            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/\(a.digest)").status == .accepted)
            let deleted = try await client.collectGarbage()
            #expect(deleted["blobs_deleted"] as? Int == 1)
            #expect(deleted["bytes_reclaimed"] as? Int == onlyA.count)

            #expect(!client.blobIsOnDisk(RegistryClient.digest(onlyA)))
            #expect(client.blobIsOnDisk(RegistryClient.digest(shared)))
            #expect(client.blobIsOnDisk(RegistryClient.digest(onlyB)))
            #expect(try client.bytesOnDisk() == beforeBytes - Int64(onlyA.count))
            try await client.pullImage("team/app", tag: "b")
            // Nothing left to do: a second run deletes nothing.
            #expect(try await client.collectGarbage()["blobs_deleted"] as? Int == 0)
        }
    }

    @Test func indexWhoseChildrenAreUntaggedKeepsThemWhenUntaggedManifestsGo() async throws {
        try await TestRegistry.with(configure: Self.immediate) { client in
            var children: [(digest: Digest, size: Int, layer: [UInt8])] = []
            for platform in ["amd64", "arm64"] {
                let layer = RegistryClient.randomBytes(1024)
                let child = try await client.pushImage(to: "team/multi", tag: "tmp-\(platform)", layers: [layer])
                #expect(try await client.request(.DELETE, "/v2/team/multi/manifests/tmp-\(platform)").status == .accepted)
                children.append((child.digest, child.manifest.count, layer))
            }
            let index = try RegistryClient.json([
                "schemaVersion": 2, "mediaType": MediaType.ociIndex,
                "manifests": zip(children, ["amd64", "arm64"]).map { child, architecture in
                    [
                        "mediaType": MediaType.ociManifest, "digest": child.digest.description, "size": child.size,
                        "platform": ["os": "linux", "architecture": architecture],
                    ] as [String: Any]
                },
            ])
            let put = try await client.request(
                .PUT, "/v2/team/multi/manifests/latest", headers: [("Content-Type", MediaType.ociIndex)], body: index)
            #expect(put.status == .created)
            // An untagged image nothing refers to: the one thing to go.
            let orphanLayer = RegistryClient.randomBytes(777)
            let orphan = try await client.pushImage(to: "team/multi", tag: "orphan", layers: [orphanLayer])
            #expect(try await client.request(.DELETE, "/v2/team/multi/manifests/orphan").status == .accepted)

            let deleted = try await client.collectGarbage(deleteUntagged: true)
            #expect(deleted["manifests_deleted"] as? Int == 1)
            #expect((deleted["manifests"] as? [String: [String]])?["team/multi"] == [orphan.digest.description])
            #expect(!client.blobIsOnDisk(RegistryClient.digest(orphanLayer)))
            for child in children {
                #expect(try await client.request(.GET, "/v2/team/multi/manifests/\(child.digest)").status == .ok)
                #expect(try await client.request(.GET, "/v2/team/multi/blobs/\(RegistryClient.digest(child.layer))").status == .ok)
            }
            #expect(try await client.request(.GET, "/v2/team/multi/manifests/latest", headers: [("Accept", MediaType.ociIndex)]).status == .ok)
        }
    }

    @Test func untaggedManifestsStayUnlessAskedAndDryRunDeletesNothing() async throws {
        try await TestRegistry.with(configure: Self.immediate) { client in
            let image = try await client.pushImage(to: "team/app", tag: "gone")
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/gone").status == .accepted)
            #expect(try await client.collectGarbage()["manifests_deleted"] as? Int == 0)

            let dry = try await client.collectGarbage(deleteUntagged: true, dryRun: true)
            #expect(dry["manifests_deleted"] as? Int == 1)
            #expect(dry["blobs_deleted"] as? Int == 2)
            #expect(try await client.request(.GET, "/v2/team/app/manifests/\(image.digest)").status == .ok)

            let real = try await client.collectGarbage(deleteUntagged: true)
            #expect(real["manifests_deleted"] as? Int == 1)
            #expect(real["blobs_deleted"] as? Int == 2)
            #expect(try await client.request(.GET, "/v2/team/app/manifests/\(image.digest)").status == .notFound)
            // The repository had nothing left, so it left the catalog too.
            #expect((try await client.request(.GET, "/v2/_catalog").json()["repositories"] as? [String]) == [])
        }
    }

    @Test func gracePeriodKeepsAPushInProgress() async throws {
        try await TestRegistry.with(configure: { $0.gcInterval = nil }) { client in
            // A layer uploaded, its manifest not yet pushed: the default hour of grace keeps it.
            let layer = RegistryClient.randomBytes(500)
            let digest = try await client.pushBlob(layer, to: "team/app")
            #expect(try await client.collectGarbage(deleteUntagged: true)["blobs_deleted"] as? Int == 0)
            #expect(client.blobIsOnDisk(digest))
            try await client.pushImage(to: "team/app", tag: "v1", layers: [layer])
            try await client.pullImage("team/app", tag: "v1")
        }
    }

    @Test func deletedRepositoryIsReclaimedExceptBlobsOtherRepositoriesUse() async throws {
        try await TestRegistry.with(configure: Self.immediate) { client in
            let shared = RegistryClient.randomBytes(2048)
            let own = RegistryClient.randomBytes(1024)
            try await client.pushImage(to: "team/doomed", tag: "v1", layers: [shared, own])
            try await client.pushImage(to: "team/kept", tag: "v1", layers: [shared])

            #expect(try await client.request(.DELETE, "/v2/_admin/repositories/team/doomed").status == .accepted)
            #expect(try await client.request(.GET, "/v2/team/doomed/tags/list").status == .notFound)
            #expect(try await client.request(.DELETE, "/v2/_admin/repositories/team/doomed").status == .notFound)
            let deleted = try await client.collectGarbage()
            #expect(deleted["blobs_deleted"] as? Int == 1)
            #expect(!client.blobIsOnDisk(RegistryClient.digest(own)))
            try await client.pullImage("team/kept", tag: "v1")
        }
    }

    @Test func adminEndpointsNeedAnAdmin() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        let htpasswd = directory + "/htpasswd"
        try Htpasswd.setPassword("secret", for: "admin", in: htpasswd, cost: 4)
        try Htpasswd.setPassword("secret", for: "user", in: htpasswd, cost: 4)
        let configure: (inout RegistryConfiguration) -> Void = { configuration in
            Self.immediate(&configuration)
            configuration.htpasswd = htpasswd
            configuration.accessPolicy.admins = ["admin"]
        }
        let basic: @Sendable (String) -> (String, String) = { user in
            ("Authorization", "Basic " + Data("\(user):secret".utf8).base64EncodedString())
        }
        try await TestRegistry.with(configure: configure) { (client: RegistryClient) async throws in
            #expect(try await client.request(.POST, "/v2/_admin/gc").status == .unauthorized)
            #expect(try await client.request(.POST, "/v2/_admin/gc", headers: [basic("user")]).status == .forbidden)
            #expect(try await client.request(.POST, "/v2/_admin/gc", headers: [basic("admin")]).status == .ok)
            #expect(try await client.request(.GET, "/v2/_admin/gc", headers: [basic("admin")]).status == .methodNotAllowed)
        }
    }
}
