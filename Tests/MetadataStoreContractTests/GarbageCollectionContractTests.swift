import Foundation
import NIOCore
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage
import Testing

/// The collection's decisions, on the metadata store alone.
@Suite("Garbage collection in the metadata store")
struct GarbageCollectionContractTests {
    private let repository = RepositoryName("team/app")!

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

    private func collect(_ store: any MetadataMaintenance, _ plan: CollectionPlan) async throws -> (CollectionResult, [Digest]) {
        let removed = NIOLockedValueBox<[Digest]>([])
        let result = try await store.collectGarbage(plan) { tombstones in removed.withLockedValue { $0 += tombstones.map(\.digest) } }
        return (result, removed.withLockedValue { $0.sorted() })
    }

    @Test(arguments: MetadataBackend.available)
    func referrersFollowTheirSubjectUnlessTheRuleSaysOtherwise(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func dryRunReportsWhatARealRunDeletesAndChangesNothing(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func gracePeriodProtectsRecentLinksAndManifests(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            _ = try await store.putManifest(manifest(1), tag: nil, in: repository)
            let cutoff = Date(timeIntervalSinceNow: -3600)
            let (result, removed) = try await collect(store, CollectionPlan(
                graceCutoff: cutoff, manifests: { _ in .deleteUntagged(olderThan: cutoff, keepReferrers: true) }))
            #expect(result == CollectionResult())
            #expect(removed.isEmpty)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func retentionDeletesATagOnlyWhereItStillPoints(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            _ = try await store.putManifest(manifest(1), tag: Tag("moving"), in: repository)
            let seen = try await store.tagRecords(in: repository)
            // The tag moves after retention looked at it: the planned deletion no longer applies.
            _ = try await store.putManifest(manifest(2), tag: Tag("moving"), in: repository)
            let (result, _) = try await collect(store, CollectionPlan(graceCutoff: Date(timeIntervalSinceNow: -3600), tagDeletions: [repository: seen]))
            #expect(result.deletedTags.isEmpty)
            #expect(try await store.manifest(taggedAs: Tag("moving")!, in: repository)?.digest == manifest(2).digest)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func usesAreRecordedForRetentionAndRefreshLinks(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func aCollectionCutShortAfterItsCommitLeavesTombstonesNotRecordsWithoutFiles(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func anUploadOfAForgottenDigestLiftsItsTombstone(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func forgettingACorruptBlobQuarantinesItsFileAfterTheRecordIsGone(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            let disposed = NIOLockedValueBox<[BlobTombstone]>([])
            try await store.forgetBlob(blob(1)) { tombstones in
                disposed.withLockedValue { $0 += tombstones }
            }
            #expect(disposed.withLockedValue { $0 } == [BlobTombstone(digest: blob(1), quarantine: true)])
            #expect(try await store.blobSize(blob(1)) == nil)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func onlyFilesNoRecordOrTombstoneOwnsAreRemovedAsOrphans(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func aBlobUseIsRecordedOnlyWhereTheLinkExists(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func anIndexKeepsItsChildrenAndTheirBlobs(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            for seed in UInt8(1)...3 { try await store.addBlob(blob(seed), size: Int64(seed), into: repository) }
            let amd64 = manifest(1, blobs: [blob(1)])
            let arm64 = manifest(2, blobs: [blob(2)])
            _ = try await store.putManifest(amd64, tag: nil, in: repository)
            _ = try await store.putManifest(arm64, tag: nil, in: repository)
            _ = try await store.putManifest(manifest(3, children: [amd64.digest, arm64.digest]), tag: Tag("latest"), in: repository)
            let stray = manifest(4, blobs: [blob(3)])
            _ = try await store.putManifest(stray, tag: nil, in: repository)

            let (result, removed) = try await collect(store, plan(deleteUntagged: true))
            #expect(result.deletedManifests == [repository: [stray.digest]])
            #expect(removed == [blob(3)])
            #expect(result.deletedBlobs == [BlobRecord(digest: blob(3), size: 3)])
            #expect(result.removedLinks == 1)
            #expect(try await store.manifest(arm64.digest, in: repository) != nil)
            #expect(try await store.blobSize(blob(2), in: repository) == 2)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func aRepositoryLeftWithNothingIsDeleted(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let empty = RepositoryName("team/empty")!
            try await store.addBlob(blob(1), size: 1, into: empty)
            _ = try await store.putManifest(manifest(1), tag: Tag("v1"), in: repository)
            let (result, removed) = try await collect(store, plan(deleteUntagged: false))
            #expect(result.deletedRepositories == [empty])
            #expect(result.removedLinks == 1)
            #expect(removed == [blob(1)])
            #expect(try await store.repositoryNames() == [repository])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func tagRecordsListPushesInNameOrder(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let before = Date(timeIntervalSinceNow: -1)
            _ = try await store.putManifest(manifest(1), tags: [Tag("b")!, Tag("a")!], in: repository)
            let records = try await store.tagRecords(in: repository)
            #expect(records.map(\.tag.value) == ["a", "b"])
            #expect(records.allSatisfy { $0.manifest == manifest(1).digest && $0.pulledAt == nil && $0.pushedAt > before })
            #expect(try await store.tagRecords(in: RepositoryName("team/none")!).isEmpty)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func scrubbingPagesThroughBlobsInDigestOrder(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            for seed in UInt8(1)...5 { try await store.addBlob(blob(seed), size: Int64(seed), into: repository) }
            let sorted = (UInt8(1)...5).map { blob($0) }.sorted()
            let first = try await store.blobRecords(after: nil, limit: 2)
            #expect(first.map(\.digest) == Array(sorted.prefix(2)))
            let rest = try await store.blobRecords(after: first.last?.digest, limit: 10)
            #expect(rest.map(\.digest) == Array(sorted.dropFirst(2)))
            let sizes = Dictionary(uniqueKeysWithValues: (UInt8(1)...5).map { (blob($0), Int64($0)) })
            #expect((first + rest).allSatisfy { $0.size == sizes[$0.digest] })
        }
    }

    @Test(arguments: MetadataBackend.available)
    func referencesWithoutABlobAreReportedAsDangling(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.addBlob(blob(1), size: 1, into: repository)
            var proxied = manifest(1, blobs: [blob(2)])
            proxied.referencesMayBeAbsent = true
            _ = try await store.putManifest(proxied, tag: Tag("v1"), in: repository)
            #expect(try await store.danglingBlobReferences() == [blob(2)])
            // A corrupt blob is forgotten; the repository's link stays and now dangles.
            try await store.forgetBlob(blob(1)) { _ in }
            #expect(try await store.danglingBlobReferences() == [blob(1), blob(2)].sorted())
        }
    }

    @Test(arguments: MetadataBackend.available)
    func usageCountsLogicalAndPhysicalBytes(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let other = RepositoryName("team/other")!
            try await store.addBlob(blob(1), size: 100, into: repository)
            try await store.addBlob(blob(2), size: 10, into: repository)
            try await store.addBlob(blob(1), size: 100, into: other)
            _ = try await store.putManifest(manifest(1, blobs: [blob(1), blob(2)]), tag: Tag("v1"), in: repository)
            _ = try await store.putManifest(manifest(2, blobs: [blob(1)]), tag: Tag("v2"), in: repository)

            let usage = try await store.usage(of: nil)
            #expect(usage.repositories == [
                UsageFigures.Repository(name: repository, manifests: 2, tags: 2, logical: 210, physical: 110),
                UsageFigures.Repository(name: other, manifests: 0, tags: 0, logical: 0, physical: 100),
            ])
            #expect(usage.logical == 210)
            #expect(usage.physical == 110)
            #expect(usage.blobs == 2)
            #expect(usage.saved == 100)
            let one = try await store.usage(of: other)
            #expect(one.repositories.map(\.name) == [other])
            #expect(one.physical == 110)
        }
    }
}
