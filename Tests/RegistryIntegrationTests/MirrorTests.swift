import Foundation
import Logging
import RegistryMirror
import RegistryModel
import RegistryServer
import RegistryTestSupport
import RegistryUpstream
import Testing

@Suite("registry mirror")
struct MirrorTests {
    /// A multi-platform tag `v1` (amd64 and arm64 images sharing a base layer), a plain image
    /// `v2`, and a tag `scratch` the filters leave out.
    struct SourceImages {
        var index: (bytes: [UInt8], digest: Digest)
        var amd64: Digest
        var arm64: Digest
        var single: Digest
        var layers: [Digest]
    }

    static func pushSource(_ client: RegistryClient, to repository: String) async throws -> SourceImages {
        let base = RegistryClient.randomBytes(50_000)
        let (amd64Layer, arm64Layer, singleLayer) = (RegistryClient.randomBytes(20_000), RegistryClient.randomBytes(20_000), RegistryClient.randomBytes(5_000))
        let amd64 = try await client.pushImage(to: repository, tag: "scratch", layers: [base, amd64Layer])
        let arm64 = try await client.pushImage(to: repository, tag: "scratch", layers: [base, arm64Layer])
        let single = try await client.pushImage(to: repository, tag: "v2", layers: [singleLayer])
        let index = try RegistryClient.json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex,
            "manifests": [
                ["mediaType": MediaType.ociManifest, "digest": amd64.digest.description, "size": amd64.manifest.count,
                 "platform": ["os": "linux", "architecture": "amd64"]],
                ["mediaType": MediaType.ociManifest, "digest": arm64.digest.description, "size": arm64.manifest.count,
                 "platform": ["os": "linux", "architecture": "arm64", "variant": "v8"]],
            ],
        ])
        let reply = try await client.request(.PUT, "/v2/\(repository)/manifests/v1", headers: [("Content-Type", MediaType.ociIndex)], body: index)
        guard reply.status == .created else { throw TestFailure("index push: \(reply.status) \(reply.text)") }
        return SourceImages(
            index: (index, RegistryClient.digest(index)), amd64: amd64.digest, arm64: arm64.digest, single: single.digest,
            layers: [base, amd64Layer, arm64Layer, singleLayer].map(RegistryClient.digest))
    }

    static func mirror(
        from source: TestRegistry, _ repository: String, to destination: any MirrorDestination, options: Mirror.Options
    ) async throws -> MirrorReport {
        let client = UpstreamClient(baseURL: source.baseURL)
        return try await Mirror(source: client, repository: RepositoryName(repository)!, destination: destination, options: options).run()
    }

    static func remote(_ registry: TestRegistry, _ repository: String) -> RemoteDestination {
        RemoteDestination(client: UpstreamClient(baseURL: registry.baseURL), repository: RepositoryName(repository)!)
    }

    @Test func aMultiPlatformRepositoryKeepsEveryDigestAndASecondRunCopiesNothing() async throws {
        try await TestRegistry.with { source in
            let images = try await Self.pushSource(source, to: "library/app")
            try await TestRegistry.with { destination in
                let options = Mirror.Options(tags: try require(TagFilter.glob("v*")))
                let first = try await Self.mirror(from: source.registry, "library/app", to: Self.remote(destination.registry, "mirror/app"), options: options)
                #expect(first.tagsConsidered == 2)
                #expect(Set(first.tagsCopied.map(\.tag)) == ["v1", "v2"])
                #expect(first.manifestsCopied == 2)
                #expect(first.blobsCopied == 5)  // one config for all, the shared base once, three more layers

                let accept = ("Accept", [MediaType.ociIndex, MediaType.ociManifest].joined(separator: ", "))
                let v1 = try await destination.request(.GET, "/v2/mirror/app/manifests/v1", headers: [accept])
                #expect(v1.bytes == images.index.bytes)
                #expect(v1.header("Docker-Content-Digest") == images.index.digest.description)
                let v2 = try await destination.request(.HEAD, "/v2/mirror/app/manifests/v2", headers: [accept])
                #expect(v2.header("Docker-Content-Digest") == images.single.description)
                for child in [images.amd64, images.arm64] {
                    #expect(try await destination.request(.GET, "/v2/mirror/app/manifests/\(child)").status == .ok)
                }
                for layer in images.layers {
                    #expect(try await destination.request(.HEAD, "/v2/mirror/app/blobs/\(layer)").status == .ok)
                }
                #expect(try await destination.request(.GET, "/v2/mirror/app/manifests/scratch").status == .notFound)

                let second = try await Self.mirror(from: source.registry, "library/app", to: Self.remote(destination.registry, "mirror/app"), options: options)
                #expect(second.tagsUpToDate == 2)
                #expect(second.tagsCopied.isEmpty)
                #expect(second.blobsCopied == 0)

                // A moved tag is copied again; only its new blobs travel.
                let moved = try await source.pushImage(to: "library/app", tag: "v2", layers: [RegistryClient.randomBytes(1000)])
                let third = try await Self.mirror(from: source.registry, "library/app", to: Self.remote(destination.registry, "mirror/app"), options: options)
                #expect(third.tagsCopied.map(\.tag) == ["v2"])
                #expect(third.blobsCopied == 1)
                #expect(third.blobsPresent == 1)
                let now = try await destination.request(.HEAD, "/v2/mirror/app/manifests/v2", headers: [accept])
                #expect(now.header("Docker-Content-Digest") == moved.digest.description)
            }
        }
    }

    @Test func oneRegularExpressionAndOnePlatformCopyOnlyThatImage() async throws {
        try await TestRegistry.with { source in
            let images = try await Self.pushSource(source, to: "app")
            try await TestRegistry.with { destination in
                let options = Mirror.Options(
                    tags: try require(TagFilter.regularExpression("v[0-1]")), platform: Platform(os: "linux", architecture: "arm64", variant: "v8"))
                let report = try await Self.mirror(from: source.registry, "app", to: Self.remote(destination.registry, "app"), options: options)
                #expect(report.tagsCopied.map(\.tag) == ["v1"])
                let v1 = try await destination.request(.HEAD, "/v2/app/manifests/v1", headers: [("Accept", MediaType.ociManifest)])
                #expect(v1.header("Docker-Content-Digest") == images.arm64.description)
                #expect(try await destination.request(.HEAD, "/v2/app/blobs/\(images.layers[1])").status == .notFound)
                #expect(try await destination.request(.HEAD, "/v2/app/blobs/\(images.layers[2])").status == .ok)
            }
        }
    }

    @Test func aDryRunReportsTheCopyAndCopiesNothing() async throws {
        try await TestRegistry.with { source in
            _ = try await Self.pushSource(source, to: "app")
            try await TestRegistry.with { destination in
                let report = try await Self.mirror(
                    from: source.registry, "app", to: Self.remote(destination.registry, "app"), options: Mirror.Options(dryRun: true))
                #expect(report.tagsCopied.count == 3)
                #expect(report.blobsCopied > 0)
                #expect(try await destination.request(.GET, "/v2/_catalog").text.contains("app") == false)
            }
        }
    }

    @Test func aCorruptSourceIsDetectedAndNothingOfItIsStored() async throws {
        try await TestRegistry.with { source in
            let layer = RegistryClient.randomBytes(200_000)
            let image = try await source.pushImage(to: "app", tag: "v1", layers: [layer])
            let layerDigest = RegistryClient.digest(layer)
            try Data(RegistryClient.randomBytes(layer.count)).write(to: URL(fileURLWithPath: source.blobFile(layerDigest)))
            try await TestRegistry.with { destination in
                await #expect(throws: (any Error).self) {
                    _ = try await Self.mirror(from: source.registry, "app", to: Self.remote(destination.registry, "app"), options: Mirror.Options())
                }
                let blob = try await destination.request(.HEAD, "/v2/app/blobs/\(layerDigest)")
                #expect(blob.status == .notFound)
                #expect(!destination.blobIsOnDisk(layerDigest))
                let manifest = try await destination.request(.HEAD, "/v2/app/manifests/\(image.digest)")
                #expect(manifest.status == .notFound)
            }
        }
    }

    @Test func aLocalRootReceivesTheRepositoryAndServesIt() async throws {
        try await TestRegistry.with { source in
            let images = try await Self.pushSource(source, to: "app")
            let root = try TestRegistry.makeTemporaryDirectory()
            let local = try await RootMirrorDestination.open(
                root: root, repository: RepositoryName("copy/app")!, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let report: MirrorReport
            do {
                report = try await Self.mirror(from: source.registry, "app", to: local, options: Mirror.Options(tags: try require(TagFilter.glob("v1"))))
                let again = try await Self.mirror(from: source.registry, "app", to: local, options: Mirror.Options(tags: try require(TagFilter.glob("v1"))))
                #expect(again.tagsUpToDate == 1)
            } catch {
                try? await local.close()
                throw error
            }
            try await local.close()
            #expect(report.blobsCopied == 4)
            try await TestRegistry.with(root: root) { served in
                let v1 = try await served.request(.GET, "/v2/copy/app/manifests/v1", headers: [("Accept", MediaType.ociIndex)])
                #expect(v1.bytes == images.index.bytes)
                #expect(try await served.request(.GET, "/v2/copy/app/manifests/\(images.arm64)").status == .ok)
            }
        }
    }
}
