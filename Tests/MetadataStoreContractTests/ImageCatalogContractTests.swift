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
}
