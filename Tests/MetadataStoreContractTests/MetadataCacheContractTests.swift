import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

@Suite("Metadata: the read cache in front of each database")
struct MetadataCacheContractTests {
    private let repository = RepositoryName("team/app")!
    private let other = RepositoryName("team/other")!

    /// Two stores on one fresh database, as two processes would have; `body` gets the cached one
    /// and the one writing "from outside".
    private func withStores(
        _ backend: MetadataBackend, revalidationInterval: TimeAmount = .seconds(3600),
        _ body: (Metadata, any StoreUnderTest) async throws -> Void
    ) async throws {
        try await backend.withStores(count: 2) { stores in
            let database = stores[0]
            let cached = Metadata(database: database, revalidationInterval: revalidationInterval)
            try await body(cached, stores[1])
        }
    }

    private func manifest(_ seed: UInt8) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: [seed]),
            blobReferences: [], manifestReferences: [], subject: nil, artifactType: nil, annotations: nil)
    }

    @Test(arguments: MetadataBackend.available)
    func writesThroughTheCacheAreSeenAtOnceIncludingAnswersThatWereNotFound(_ backend: MetadataBackend) async throws {
        try await withStores(backend) { store, _ in
            let blob = DigestHasher.digest(of: [7])
            #expect(try await store.blobSize(blob, in: repository) == nil)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository) == nil)
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == nil)

            try await store.addBlob(blob, size: 1, into: repository)
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            #expect(try await store.blobSize(blob, in: repository) == 1)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(1).digest)
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == ["v1"])

            _ = try await store.putManifest(manifest(2), tag: Tag("v1"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(2).digest)
            #expect(try await store.deleteTag(Tag("v1")!, in: repository))
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository) == nil)
            #expect(try await store.unlinkBlob(blob, from: repository))
            #expect(try await store.blobSize(blob, in: repository) == nil)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func answersAreServedFromTheCacheUntilTheDatabaseChangesOutside(_ backend: MetadataBackend) async throws {
        try await withStores(backend) { store, outside in
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(1).digest)
            // Another process moves the tag; with revalidation an hour away the cache still answers.
            _ = try await outside.putManifest(manifest(2), tag: Tag("v1"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(1).digest)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func outsideWritesAreNoticedAfterTheRevalidationInterval(_ backend: MetadataBackend) async throws {
        try await withStores(backend, revalidationInterval: .milliseconds(50)) { store, outside in
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(1).digest)
            _ = try await outside.putManifest(manifest(2), tag: Tag("v1"), in: repository)
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(2).digest)
            #expect(try await outside.deleteTag(Tag("v1")!, in: repository))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository) == nil)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func aWriteDropsOnlyItsOwnRepositorysEntries(_ backend: MetadataBackend) async throws {
        try await withStores(backend) { store, outside in
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: other)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository) != nil)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: other) != nil)
            // Changed outside, unnoticed (revalidation is an hour away)...
            #expect(try await outside.deleteTag(Tag("v1")!, in: repository))
            #expect(try await outside.deleteTag(Tag("v1")!, in: other))
            // ...until a write through the cache drops that repository's entries.
            _ = try await store.putManifest(manifest(3), tag: Tag("v3"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository) == nil)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: other) != nil)
        }
    }
}
