import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// What a pull-through cache's size budget relies on, on every backend.
@Suite("Cache eviction in the metadata store")
struct CacheEvictionContractTests {
    private let cached = RepositoryName("cache/library/alpine")!
    private let local = RepositoryName("team/app")!

    private func blob(_ seed: UInt8) -> Digest { DigestHasher.digest(of: [seed, seed]) }

    private func manifest(_ seed: UInt8, blobs: [Digest] = [], children: [Digest] = []) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: [seed]),
            blobReferences: blobs, manifestReferences: children, subject: nil, artifactType: nil, annotations: nil)
    }

    @Test(arguments: MetadataBackend.available)
    func cachedBytesCountEachBlobOnceAndOnlyUnderThePrefixes(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.addBlob(blob(1), size: 100, into: cached)
            try await store.addBlob(blob(1), size: 100, into: RepositoryName("cache/library/busybox")!)
            try await store.addBlob(blob(2), size: 10, into: cached)
            try await store.addBlob(blob(3), size: 1, into: local)
            #expect(try await store.cachedBytes(under: ["cache/"]) == 110)
            #expect(try await store.cachedBytes(under: ["cache/", "team/"]) == 111)
            #expect(try await store.cachedBytes(under: ["cach/"]) == 0)
            #expect(try await store.cachedBytes(under: []) == 0)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func cacheEntriesAreTheTopLevelImagesOldestUseFirst(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let child = manifest(1)
            _ = try await store.putManifest(child, tag: nil, in: cached)
            _ = try await store.putManifest(manifest(2, children: [child.digest]), tag: Tag("latest"), in: cached)
            _ = try await store.putManifest(manifest(3), tag: Tag("3.19"), in: cached)
            _ = try await store.putManifest(manifest(4), tag: Tag("v1"), in: local)
            // Pulling `latest` makes its index the most recently used.
            try await store.recordUse(tags: [cached: [Tag("latest")!]], blobs: [:], at: Date(timeIntervalSinceNow: 60))
            let entries = try await store.cacheEntries(under: ["cache/"])
            #expect(entries.map(\.digest) == [manifest(3).digest, manifest(2).digest])
            #expect(entries.allSatisfy { $0.repository == cached })
            #expect(entries.last.map { $0.lastUsed > Date(timeIntervalSinceNow: 30) } == true)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func evictingAnImageDropsWhatOnlyItUsedAndKeepsTheRest(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            for seed in UInt8(1)...4 { try await store.addBlob(blob(seed), size: Int64(seed), into: cached) }
            try await store.addBlob(blob(2), size: 2, into: local)
            let child = manifest(1, blobs: [blob(1), blob(2)])
            let index = manifest(2, children: [child.digest])
            let other = manifest(3, blobs: [blob(3)])
            let protectedImage = manifest(4, blobs: [blob(4)])
            _ = try await store.putManifest(child, tag: nil, in: cached)
            _ = try await store.putManifest(index, tag: Tag("latest"), in: cached)
            _ = try await store.putManifest(other, tag: Tag("other"), in: cached)
            _ = try await store.putManifest(protectedImage, tag: Tag("pinned"), in: cached)

            let disposed = NIOLockedValueBox<[BlobTombstone]>([])
            let evicted = try await store.evict(
                CacheEntry(repository: cached, digest: index.digest, lastUsed: Date()), protecting: []
            ) { tombstones in disposed.withLockedValue { $0 += tombstones } }
            // blob(2) is still linked by another repository: only its link here goes.
            #expect(evicted == [BlobRecord(digest: blob(1), size: 1)])
            #expect(disposed.withLockedValue { $0 } == [BlobTombstone(digest: blob(1), quarantine: false)])
            #expect(try await store.manifest(taggedAs: Tag("latest")!, in: cached) == nil)
            #expect(try await store.manifest(child.digest, in: cached) == nil)
            #expect(try await store.blobSize(blob(2), in: cached) == nil)
            #expect(try await store.blobSize(blob(2), in: local) == 2)
            #expect(try await store.manifest(taggedAs: Tag("other")!, in: cached)?.digest == other.digest)
            #expect(try await store.blobSize(blob(3), in: cached) == 3)

            // A protected blob (an upload in flight, say) keeps its link and its record.
            let kept = try await store.evict(
                CacheEntry(repository: cached, digest: protectedImage.digest, lastUsed: Date()), protecting: [blob(4)]
            ) { _ in Issue.record("nothing is to be disposed of") }
            #expect(kept.isEmpty)
            #expect(try await store.blobSize(blob(4), in: cached) == 4)
            #expect(try await store.manifest(protectedImage.digest, in: cached) == nil)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func aChildThatAnotherImageUsesSurvivesEviction(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.addBlob(blob(1), size: 1, into: cached)
            let child = manifest(1, blobs: [blob(1)])
            _ = try await store.putManifest(child, tag: nil, in: cached)
            let first = manifest(2, children: [child.digest])
            _ = try await store.putManifest(first, tag: Tag("a"), in: cached)
            _ = try await store.putManifest(manifest(3, children: [child.digest]), tag: Tag("b"), in: cached)
            let evicted = try await store.evict(
                CacheEntry(repository: cached, digest: first.digest, lastUsed: Date()), protecting: []
            ) { _ in Issue.record("nothing is to be disposed of") }
            #expect(evicted.isEmpty)
            #expect(try await store.manifest(child.digest, in: cached) != nil)
            #expect(try await store.blobSize(blob(1), in: cached) == 1)
        }
    }
}
