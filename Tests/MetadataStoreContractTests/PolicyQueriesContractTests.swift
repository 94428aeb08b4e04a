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
    func linksPastTheirLimitAreRefusedAndChangeNothing(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            func upload(_ seed: UInt8, size: Int64, limit: Int64?) async throws -> UploadID {
                let id = UploadID()
                try await store.createUpload(UploadRecord(id: id, repository: repository, createdAt: Date(), updatedAt: Date()))
                try await store.finishUpload(id, linking: DigestHasher.digest(of: [seed]), size: size, into: repository, limit: limit, storing: {})
                return id
            }
            _ = try await upload(1, size: 600, limit: 1000)
            // Past the limit: no link, no blob, and the session is still there for the caller to end.
            let refusedID = UploadID()
            try await store.createUpload(UploadRecord(id: refusedID, repository: repository, createdAt: Date(), updatedAt: Date()))
            await #expect(throws: QuotaLimitReached()) {
                try await store.finishUpload(refusedID, linking: DigestHasher.digest(of: [2]), size: 600, into: repository, limit: 1000, storing: {})
            }
            #expect(try await store.upload(refusedID) != nil)
            #expect(try await store.blobSize(DigestHasher.digest(of: [2])) == nil)
            #expect(try await store.linkedBlobBytes(in: repository) == 600)
            // A blob the repository links already adds nothing; exactly at the limit passes.
            _ = try await upload(1, size: 600, limit: 600)
            _ = try await upload(3, size: 400, limit: 1000)
            #expect(try await store.linkedBlobBytes(in: repository) == 1000)

            // Mounts: the same rule.
            try await store.addBlob(DigestHasher.digest(of: [4]), size: 50, into: other)
            await #expect(throws: QuotaLimitReached()) {
                try await store.mountBlob(DigestHasher.digest(of: [4]), from: other, into: repository, limit: 1000)
            }
            #expect(try await store.mountBlob(DigestHasher.digest(of: [4]), from: other, into: repository, limit: 1050))
            #expect(try await store.mountBlob(DigestHasher.digest(of: [4]), from: other, into: repository, limit: 0))
            #expect(try await store.linkedBlobBytes(in: repository) == 1050)
        }
    }

    /// Immutable tags as the core passes them: every tag starting with "v".
    private let releases = FrozenTags { $0.value.hasPrefix("v") }

    private func expectFrozen<T>(_ tag: String, _ write: () async throws -> T) async {
        await #expect(throws: FrozenTagChange(tag: Tag(tag)!)) { _ = try await write() }
    }

    @Test(arguments: MetadataBackend.available)
    func aFrozenTagIsNeitherMovedNorDeletedAndARefusedWriteChangesNothing(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let (first, second) = (manifest(1), manifest(2))
            #expect(try await store.putManifest(first, tags: [Tag("v1")!, Tag("latest")!], in: repository) == .stored)
            // Moving v1 takes nothing else with it: latest stays, the new manifest is not stored.
            await expectFrozen("v1") {
                try await store.putManifest(second, tags: [Tag("latest")!, Tag("v1")!], in: repository, events: [], keeping: releases)
            }
            #expect(try await store.manifest(taggedAs: Tag("latest")!, in: repository)?.digest == first.digest)
            #expect(try await store.manifest(second.digest, in: repository) == nil)
            // The manifest it holds, again; a new frozen tag; an unfrozen tag moving.
            #expect(try await store.putManifest(first, tags: [Tag("v1")!], in: repository, events: [], keeping: releases) == .stored)
            let outcome = try await store.putManifest(second, tags: [Tag("v2")!, Tag("latest")!], in: repository, events: [], keeping: releases)
            #expect(outcome == .stored)

            await expectFrozen("v1") { try await store.deleteTag(Tag("v1")!, in: repository, events: [], keeping: releases) }
            await expectFrozen("v1") { try await store.deleteManifest(first.digest, in: repository, events: [], keeping: releases) }
            await expectFrozen("v1") { try await store.deleteRepository(repository, events: [], keeping: releases) }
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == ["latest", "v1", "v2"])
            #expect(try await store.manifest(first.digest, in: repository) != nil)

            #expect(try await !store.deleteTag(Tag("v9")!, in: repository, events: [], keeping: releases))
            #expect(try await store.deleteTag(Tag("latest")!, in: repository, events: [], keeping: releases))
            // Unguarded (maintenance, or an admin a rule lets through), the same writes go ahead.
            #expect(try await store.deleteTag(Tag("v2")!, in: repository))
            #expect(try await store.deleteManifest(first.digest, in: repository))
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == [])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func concurrentFirstPushesOfAFrozenTagLeaveItOnTheOneThatWasStored(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let tag = Tag("v1.0")!
            let outcomes = try await withThrowingTaskGroup(of: (UInt8, Bool).self) { group in
                for seed in UInt8(1)...16 {
                    group.addTask {
                        do {
                            _ = try await store.putManifest(manifest(seed), tags: [tag], in: repository, events: [], keeping: releases)
                            return (seed, true)
                        } catch is FrozenTagChange {
                            return (seed, false)
                        }
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let stored = outcomes.filter(\.value).map(\.key)
            #expect(stored.count == 1)
            #expect(try await store.manifest(taggedAs: tag, in: repository)?.digest == stored.first.map { manifest($0).digest })
        }
    }
}
