import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// What `registry inspect` and `/v2/_layers` ask of the metadata, on every backend: which
/// manifests use a blob (and the tags that name them), and what verifying layers found.
@Suite("Metadata store contract: image catalog")
struct ImageCatalogContractTests {
    private let layer = DigestHasher.digest(of: Array("layer".utf8))
    private let config = DigestHasher.digest(of: Array("config".utf8))

    private func manifest(_ seed: UInt8, blobs: [Digest] = [], children: [Digest] = [], mediaType: String = MediaType.ociManifest) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: mediaType, content: ByteBuffer(bytes: [seed]),
            blobReferences: blobs, manifestReferences: children, subject: nil, artifactType: nil, annotations: nil)
    }

    @Test(arguments: MetadataBackend.available)
    func usesOfABlobNameTheirTagsDirectlyOrThroughAnIndex(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let app = RepositoryName("team/app")!, base = RepositoryName("team/base")!, multi = RepositoryName("team/multi")!
            for repository in [app, base, multi] {
                try await store.addBlob(layer, size: 1000, into: repository)
                try await store.addBlob(config, size: 10, into: repository)
            }
            let image = manifest(1, blobs: [config, layer])
            _ = try await store.putManifest(image, tags: [Tag("v2")!, Tag("v1")!], in: app)
            let baseImage = manifest(2, blobs: [layer])
            _ = try await store.putManifest(baseImage, tags: [Tag("base")!], in: base)
            // An untagged image that an index lists: named by the index's tag.
            let child = manifest(3, blobs: [config, layer])
            _ = try await store.putManifest(child, tags: [], in: multi)
            _ = try await store.putManifest(manifest(4, children: [child.digest], mediaType: MediaType.ociIndex), tags: [Tag("latest")!], in: multi)

            let uses = try await store.uses(of: layer, limit: 10)
            #expect(uses == [
                BlobUse(repository: app, manifest: image.digest, tags: [Tag("v1")!, Tag("v2")!]),
                BlobUse(repository: base, manifest: baseImage.digest, tags: [Tag("base")!]),
                BlobUse(repository: multi, manifest: child.digest, tags: [Tag("latest")!]),
            ])
            #expect(try await store.uses(of: layer, limit: 2) == Array(uses.prefix(2)))
            // The index uses the child manifest, not the layer.
            #expect(try await store.uses(of: child.digest, limit: 10).map(\.repository) == [multi])
            #expect(try await store.uses(of: DigestHasher.digest(of: [9]), limit: 10).isEmpty)
            #expect(try await store.deleteTag(Tag("v1")!, in: app))
            #expect(try await store.uses(of: layer, limit: 1).first?.tags == [Tag("v2")!])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func layerFactsAreRecordedReplacedAndReadBack(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let diffID = DigestHasher.digest(of: Array("tar".utf8))
            let verified = Date(timeIntervalSince1970: 1_700_000_000.123)
            #expect(try await store.layerFacts([layer]).isEmpty)
            #expect(try await store.layerFacts([]).isEmpty)
            try await store.recordLayerFacts(LayerFacts(digest: layer, diffID: diffID, uncompressedSize: 5_000_000_000, verifiedAt: verified))
            let facts = try await store.layerFacts([layer, config])
            #expect(facts.keys.sorted() == [layer])
            #expect(facts[layer]?.diffID == diffID && facts[layer]?.uncompressedSize == 5_000_000_000)
            #expect(abs((facts[layer]?.verifiedAt.timeIntervalSince1970 ?? 0) - verified.timeIntervalSince1970) < 0.002)
            try await store.recordLayerFacts(LayerFacts(digest: layer, diffID: diffID, uncompressedSize: 42, verifiedAt: verified))
            #expect(try await store.layerFacts([layer])[layer]?.uncompressedSize == 42)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func repositoriesPageBySearchAndNameWithTheirFigures(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let names = ["apps/web", "apps/worker", "base/alpine", "tools/web-debug"].map { RepositoryName($0)! }
            for (seed, repository) in names.enumerated() {
                try await store.addBlob(layer, size: 1000, into: repository)
                _ = try await store.putManifest(manifest(UInt8(seed), blobs: [layer]), tags: [Tag("v1")!], in: repository)
            }
            let empty = RepositoryName("apps/empty")!
            try await store.addBlob(config, size: 10, into: empty)

            let all = try await store.repositorySummaries(containing: nil, after: nil, limit: 100)
            #expect(all.map(\.figures.name.value) == ["apps/empty", "apps/web", "apps/worker", "base/alpine", "tools/web-debug"])
            let web = try #require(all.first { $0.figures.name.value == "apps/web" })
            #expect(web.figures.tags == 1 && web.figures.manifests == 1 && web.figures.logical == 1000 && web.figures.physical == 1000)
            #expect(web.lastPush != nil)
            // The same figures as `registry du` gives.
            #expect(try await store.usage(of: web.figures.name).repositories == [web.figures])
            #expect(all.first?.lastPush == nil && all.first?.figures.physical == 10, "a repository without manifests")

            #expect(try await store.repositorySummaries(containing: "web", after: nil, limit: 100).map(\.figures.name.value) == ["apps/web", "tools/web-debug"])
            #expect(try await store.repositorySummaries(containing: nil, after: "apps/web", limit: 2).map(\.figures.name.value) == ["apps/worker", "base/alpine"])
            #expect(try await store.repositorySummaries(containing: "nothing", after: nil, limit: 100).isEmpty)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func tagsListTheirManifestsAndLeftBehindManifestsAreUntagged(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let repository = RepositoryName("team/app")!
            try await store.addBlob(layer, size: 1000, into: repository)
            let first = manifest(1, blobs: [layer]), second = manifest(2, blobs: [layer])
            _ = try await store.putManifest(first, tags: [Tag("latest")!, Tag("v1")!], in: repository)
            _ = try await store.putManifest(second, tags: [Tag("latest")!], in: repository)
            // An index's child is not an untagged image of its own.
            let child = manifest(3, blobs: [layer])
            _ = try await store.putManifest(child, tags: [], in: repository)
            _ = try await store.putManifest(manifest(4, children: [child.digest], mediaType: MediaType.ociIndex), tags: [Tag("multi")!], in: repository)

            let tags = try await store.tagDetails(in: repository, after: nil, limit: 10)
            #expect(tags.map(\.tag.value) == ["latest", "multi", "v1"])
            #expect(tags.map(\.manifest) == [second.digest, DigestHasher.digest(of: [4]), first.digest])
            #expect(tags.first?.mediaType == MediaType.ociManifest && tags.first?.size == 1 && tags.first?.pulledAt == nil)
            #expect(try await store.tagDetails(in: repository, after: "latest", limit: 1).map(\.tag.value) == ["multi"])
            #expect(try await store.tagDetails(in: RepositoryName("none")!, after: nil, limit: 10).isEmpty)

            #expect(try await store.untaggedManifests(in: repository, limit: 10).isEmpty)
            #expect(try await store.deleteTag(Tag("v1")!, in: repository))
            let untagged = try await store.untaggedManifests(in: repository, limit: 10)
            #expect(untagged.map(\.digest) == [first.digest] && untagged.first?.size == 1)
        }
    }
}
