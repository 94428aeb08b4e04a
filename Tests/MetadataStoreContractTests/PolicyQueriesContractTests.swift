import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// What storage quotas and immutable tags ask of the metadata, on every backend.
@Suite("Metadata store contract: policy queries")
struct PolicyQueriesContractTests {
    private let repository = RepositoryName("team/app")!
    private let other = RepositoryName("team/other")!

    private func manifest(_ seed: UInt8, blobs: [Digest] = []) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: [seed]),
            blobReferences: blobs, manifestReferences: [], subject: nil, artifactType: nil, annotations: nil)
    }

    @Test(arguments: MetadataBackend.available)
    func linkedBlobBytesCountEachLinkedBlobOnceAndFollowUnlinks(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            #expect(try await store.linkedBlobBytes(in: repository) == 0)
            let small = DigestHasher.digest(of: [1])
            let large = DigestHasher.digest(of: [2])
            try await store.addBlob(small, size: 100, into: repository)
            try await store.addBlob(large, size: 5_000_000_000, into: repository)
            // Linked again (a second upload of the same digest): still counted once.
            try await store.addBlob(small, size: 100, into: repository)
            #expect(try await store.linkedBlobBytes(in: repository) == 5_000_000_100)
            // Another repository's links count there, not here.
            #expect(try await store.mountBlob(large, from: repository, into: other))
            #expect(try await store.linkedBlobBytes(in: other) == 5_000_000_000)
            #expect(try await store.unlinkBlob(large, from: repository))
            #expect(try await store.linkedBlobBytes(in: repository) == 100)
            #expect(try await store.deleteRepository(other))
            #expect(try await store.linkedBlobBytes(in: other) == 0)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func tagsPointingAtAManifestAreListedInOrder(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.putManifest(manifest(1), tags: [Tag("v2")!, Tag("latest")!, Tag("v1")!], in: repository)
            _ = try await store.putManifest(manifest(2), tags: [Tag("other")!], in: repository)
            _ = try await store.putManifest(manifest(1), tags: [Tag("elsewhere")!], in: other)
            #expect(try await store.tags(pointingAt: DigestHasher.digest(of: [1]), in: repository).map(\.value) == ["latest", "v1", "v2"])
            #expect(try await store.tags(pointingAt: DigestHasher.digest(of: [3]), in: repository).isEmpty)
            #expect(try await store.deleteTag(Tag("v1")!, in: repository))
            #expect(try await store.tags(pointingAt: DigestHasher.digest(of: [1]), in: repository).map(\.value) == ["latest", "v2"])
            #expect(try await store.tags(pointingAt: DigestHasher.digest(of: [1]), in: RepositoryName("none")!).isEmpty)
        }
    }
}
