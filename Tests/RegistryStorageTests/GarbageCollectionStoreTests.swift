import Foundation
import Logging
import NIOCore
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage
import Testing

/// The collection's decisions, on the metadata store alone.
@Suite("Garbage collection in the metadata store")
struct GarbageCollectionStoreTests {
    private let repository = RepositoryName("team/app")!

    private func withStore(_ body: (SQLiteMetadataStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gc-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteMetadataStore.open(
            path: directory + "/metadata.sqlite", logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    private func blob(_ seed: UInt8) -> Digest { DigestHasher.digest(of: [seed, seed]) }

    private func manifest(
        _ seed: UInt8, blobs: [Digest] = [], children: [Digest] = [], subject: Digest? = nil
    ) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: [seed]),
            blobReferences: blobs, manifestReferences: children, subject: subject, artifactType: nil, annotations: nil)
    }

    /// Everything is past its grace period an hour from now.
    private var later: Date { Date(timeIntervalSinceNow: 3600) }

    private func plan(deleteUntagged: Bool, keepReferrers: Bool = true, dryRun: Bool = false) -> CollectionPlan {
        let cutoff = later
        return CollectionPlan(
            graceCutoff: cutoff,
            manifests: { _ in deleteUntagged ? .deleteUntagged(olderThan: cutoff, keepReferrers: keepReferrers) : .keepUntagged },
            dryRun: dryRun)
    }

    private func collect(_ store: SQLiteMetadataStore, _ plan: CollectionPlan) async throws -> (CollectionResult, [Digest]) {
        let removed = NIOLockedValueBox<[Digest]>([])
        let result = try await store.collectGarbage(plan) { tombstones in removed.withLockedValue { $0 += tombstones.map(\.digest) } }
        return (result, removed.withLockedValue { $0.sorted() })
    }

    @Test func referrersFollowTheirSubjectUnlessTheRuleSaysOtherwise() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 10, into: repository)
            let subject = manifest(1, blobs: [blob(1)])
            _ = try await store.putManifest(subject, tag: Tag("v1"), in: repository)
            let signature = manifest(2, subject: subject.digest)
            _ = try await store.putManifest(signature, tag: nil, in: repository)
            let unrelated = manifest(3)
            _ = try await store.putManifest(unrelated, tag: nil, in: repository)

            let (kept, _) = try await collect(store, plan(deleteUntagged: true))
            #expect(kept.deletedManifests[repository] == [unrelated.digest])
            #expect(try await store.manifest(signature.digest, in: repository) != nil)

            let (dropped, _) = try await collect(store, plan(deleteUntagged: true, keepReferrers: false))
            #expect(dropped.deletedManifests[repository] == [signature.digest])
            #expect(try await store.manifest(subject.digest, in: repository) != nil)
        }
    }

    @Test func dryRunReportsWhatARealRunDeletesAndChangesNothing() async throws {
        try await withStore { store in
            for seed in UInt8(1)...3 { try await store.addBlob(blob(seed), size: Int64(seed) * 100, into: repository) }
            _ = try await store.putManifest(manifest(1, blobs: [blob(1)]), tag: Tag("keep"), in: repository)
            _ = try await store.putManifest(manifest(2, blobs: [blob(1), blob(2)]), tag: nil, in: repository)

            let (dry, dryRemoved) = try await collect(store, plan(deleteUntagged: true, dryRun: true))
            #expect(dryRemoved.isEmpty)
            #expect(try await store.manifest(manifest(2).digest, in: repository) != nil)
            #expect(try await store.blobSize(blob(3), in: repository) == 300)

            let (real, removed) = try await collect(store, plan(deleteUntagged: true))
            #expect(real == dry)
            #expect(removed == [blob(2), blob(3)].sorted())
            #expect(real.reclaimedBytes == 500)
            #expect(try await store.blobSize(blob(1), in: repository) == 100)
            #expect(try await store.blobSize(blob(2)) == nil)
        }
    }

    @Test func gracePeriodProtectsRecentLinksAndManifests() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            _ = try await store.putManifest(manifest(1), tag: nil, in: repository)
            let cutoff = Date(timeIntervalSinceNow: -3600)
            let (result, removed) = try await collect(store, CollectionPlan(
                graceCutoff: cutoff, manifests: { _ in .deleteUntagged(olderThan: cutoff, keepReferrers: true) }))
            #expect(result == CollectionResult())
            #expect(removed.isEmpty)
        }
    }

    @Test func retentionDeletesATagOnlyWhereItStillPoints() async throws {
        try await withStore { store in
            _ = try await store.putManifest(manifest(1), tag: Tag("moving"), in: repository)
            let seen = try await store.tagRecords(in: repository)
            // The tag moves after retention looked at it: the planned deletion no longer applies.
            _ = try await store.putManifest(manifest(2), tag: Tag("moving"), in: repository)
            let (result, _) = try await collect(store, CollectionPlan(graceCutoff: Date(timeIntervalSinceNow: -3600), tagDeletions: [repository: seen]))
            #expect(result.deletedTags.isEmpty)
            #expect(try await store.manifest(taggedAs: Tag("moving")!, in: repository)?.digest == manifest(2).digest)
        }
    }

    @Test func usesAreRecordedForRetentionAndRefreshLinks() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            #expect(try await store.tagRecords(in: repository).first?.pulledAt == nil)
            let when = Date(timeIntervalSinceNow: 7200)
            try await store.recordUse(tags: [repository: [Tag("v1")!]], blobs: [repository: [blob(1)]], at: when)
            let pulled = try #require(try await store.tagRecords(in: repository).first?.pulledAt)
            #expect(abs(pulled.timeIntervalSince(when)) < 0.01)
            // The link was used after the cutoff, so it is as good as new.
            let (result, _) = try await collect(store, CollectionPlan(graceCutoff: later))
            #expect(result.removedLinks == 0)
        }
    }

    private struct DiskFailure: Error {}

    @Test func aCollectionCutShortAfterItsCommitLeavesTombstonesNotRecordsWithoutFiles() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            // The file removal fails (as a kill between the commit and the unlink would stop it).
            await #expect(throws: DiskFailure.self) {
                _ = try await store.collectGarbage(CollectionPlan(graceCutoff: later)) { _ in throw DiskFailure() }
            }
            // The records went first: no record points at a file that may be gone.
            #expect(try await store.blobSize(blob(1)) == nil)
            // The next run finishes the removal.
            let leftOver = NIOLockedValueBox<[BlobTombstone]>([])
            #expect(try await store.disposeOfForgottenBlobs { tombstones in leftOver.withLockedValue { $0 += tombstones } } == 1)
            #expect(leftOver.withLockedValue { $0 } == [BlobTombstone(digest: blob(1), quarantine: false)])
            #expect(try await store.disposeOfForgottenBlobs { _ in Issue.record("nothing is left") } == 0)
        }
    }

    @Test func anUploadOfAForgottenDigestLiftsItsTombstone() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            await #expect(throws: DiskFailure.self) {
                _ = try await store.collectGarbage(CollectionPlan(graceCutoff: later)) { _ in throw DiskFailure() }
            }
            // Uploaded again before the removal ran: its new file must not be removed.
            try await store.addBlob(blob(1), size: 1, into: repository)
            #expect(try await store.disposeOfForgottenBlobs { _ in Issue.record("the new file was about to be removed") } == 0)
            #expect(try await store.blobSize(blob(1)) == 1)
        }
    }

    @Test func forgettingACorruptBlobQuarantinesItsFileAfterTheRecordIsGone() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            let disposed = NIOLockedValueBox<[BlobTombstone]>([])
            try await store.forgetBlob(blob(1)) { tombstones in
                disposed.withLockedValue { $0 += tombstones }
            }
            #expect(disposed.withLockedValue { $0 } == [BlobTombstone(digest: blob(1), quarantine: true)])
            #expect(try await store.blobSize(blob(1)) == nil)
        }
    }

    @Test func onlyFilesNoRecordOrTombstoneOwnsAreRemovedAsOrphans() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            _ = try await store.putManifest(manifest(1, blobs: [blob(1)]), tag: Tag("v1"), in: repository)
            try await store.addBlob(blob(2), size: 1, into: repository)
            await #expect(throws: DiskFailure.self) {
                _ = try await store.collectGarbage(CollectionPlan(graceCutoff: later)) { _ in throw DiskFailure() }
            }
            let removed = try await store.removeUnrecordedBlobFiles([blob(1), blob(2), blob(3)]) { _ in }
            // 1 has its record, 2 a tombstone (its removal is the tombstone's business), 3 nothing.
            #expect(removed == [blob(3)])
        }
    }

    @Test func aBlobUseIsRecordedOnlyWhereTheLinkExists() async throws {
        try await withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            let when = Date(timeIntervalSinceNow: 7200)
            #expect(try await store.recordBlobUse(blob(1), in: repository, at: when))
            #expect(try await store.recordBlobUse(blob(2), in: repository, at: when) == false)
            #expect(try await store.recordBlobUse(blob(1), in: RepositoryName("other")!, at: when) == false)
            // Used after the cutoff: as good as new.
            let (result, _) = try await collect(store, CollectionPlan(graceCutoff: later))
            #expect(result.removedLinks == 0)
        }
    }
}
