import Foundation
import Logging
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

@Suite("Cached metadata store")
struct CachedMetadataStoreTests {
    private let repository = RepositoryName("team/app")!
    private let other = RepositoryName("team/other")!

    /// Two stores on one database file, as two processes on one root would have; `body` gets
    /// the cached one and the one writing "from outside".
    private func withStores(
        revalidationInterval: TimeAmount = .seconds(3600),
        _ body: (CachedMetadataStore, SQLiteMetadataStore) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cache-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/metadata.sqlite"
        let database = try await SQLiteMetadataStore.open(path: path, logger: Logger(label: "test"))
        let outside = try await SQLiteMetadataStore.open(path: path, logger: Logger(label: "test"))
        let cached = CachedMetadataStore(wrapping: database, revalidationInterval: revalidationInterval) {
            try await database.changeCounter()
        }
        do {
            try await body(cached, outside)
        } catch {
            try? await cached.close()
            try? await outside.close()
            throw error
        }
        try await cached.close()
        try await outside.close()
    }

    private func manifest(_ seed: UInt8) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: [seed]),
            blobReferences: [], manifestReferences: [], subject: nil, artifactType: nil, annotations: nil)
    }

    @Test func writesThroughTheCacheAreSeenAtOnceIncludingAnswersThatWereNotFound() async throws {
        try await withStores { store, _ in
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

    @Test func answersAreServedFromTheCacheUntilTheDatabaseChangesOutside() async throws {
        try await withStores { store, outside in
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(1).digest)
            // Another process moves the tag; with revalidation an hour away the cache still answers.
            _ = try await outside.putManifest(manifest(2), tag: Tag("v1"), in: repository)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == manifest(1).digest)
        }
    }

    @Test func outsideWritesAreNoticedAfterTheRevalidationInterval() async throws {
        try await withStores(revalidationInterval: .milliseconds(50)) { store, outside in
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

    @Test func aWriteDropsOnlyItsOwnRepositorysEntries() async throws {
        try await withStores { store, outside in
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
