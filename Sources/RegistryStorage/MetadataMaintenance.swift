import Foundation
import RegistryModel

/// What garbage collection, retention, scrubbing and usage reports need from the metadata store.
/// Every decision that must be atomic with the registry's own writes (is this blob still unused?)
/// is taken inside the store's transactions, so these work while a server writes to the same root.
public protocol MetadataMaintenance: Sendable {
    /// Every repository, in name order.
    func repositoryNames() async throws -> [RepositoryName]

    /// A repository's tags with their push and pull times, for retention rules.
    func tagRecords(in repository: RepositoryName) async throws -> [TagRecord]

    /// Runs one collection: deletes the planned tags, the manifests nothing keeps, the
    /// repository links nothing uses, then the blobs no repository links or references, in
    /// batches. A blob's records go first, each batch in a committed transaction that leaves a
    /// tombstone; `disposing` then removes the files (see ``disposeOfForgottenBlobs(disposing:)``),
    /// so a crash at any instant leaves no record without its file. A dry run decides the same
    /// way and rolls everything back without calling `disposing`.
    func collectGarbage(
        _ plan: CollectionPlan, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> CollectionResult

    /// Removes the files of blobs whose records are gone (tombstones left by collections,
    /// evictions and scrubs, including ones a crash interrupted). Each batch runs under the write
    /// lock and clears its tombstones in the same transaction, so an upload of the same digest
    /// lands wholly before (its file is then not touched) or after. Returns how many were disposed of.
    @discardableResult
    func disposeOfForgottenBlobs(disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws -> Int

    /// Of `candidates` (files found in the blob store), removes with `removing` those that no
    /// blob record or tombstone owns, deciding and removing under the write lock so that an
    /// upload committing one of them lands wholly before or after. Returns the removed ones.
    func removeUnrecordedBlobFiles(
        _ candidates: [Digest], removing: @escaping @Sendable ([Digest]) async throws -> Void
    ) async throws -> [Digest]

    /// Notes that tags were pulled and blob links used, at `date` (batched by the caller).
    func recordUse(tags: [RepositoryName: Set<Tag>], blobs: [RepositoryName: Set<Digest>], at date: Date) async throws

    /// Durably notes that `repository`'s link to `digest` was used at `date` (a client saw the
    /// blob and may reference it next), before returning. False when there is no such link.
    /// Concurrent calls share a transaction.
    func recordBlobUse(_ digest: Digest, in repository: RepositoryName, at date: Date) async throws -> Bool

    /// Stored blobs in digest order after `last`, at most `limit`, for scrubbing.
    func blobRecords(after last: Digest?, limit: Int) async throws -> [BlobRecord]

    /// Forgets a blob whose bytes are gone or corrupt, keeping the repositories' links: the blob
    /// reads as absent (so clients upload it again), and the next upload of the digest heals
    /// every repository at once. The record goes first, then `disposing` moves the file aside
    /// (a quarantine tombstone), unless an upload of the digest landed in between.
    func forgetBlob(_ digest: Digest, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws

    /// Digests that repository links or manifests point at but that no stored blob backs.
    func danglingBlobReferences() async throws -> [Digest]

    /// Sizes per repository (all of them, or only `repository`), and the registry's total.
    func usage(of repository: RepositoryName?) async throws -> UsageFigures

    /// The blobs `repository` links, with their sizes, in digest order; links to blobs that are
    /// not stored are left out. What `registry migrate` copies before the manifests.
    func linkedBlobs(in repository: RepositoryName) async throws -> [BlobRecord]

    /// Every manifest of `repository`, in digest order, with the manifests it references and
    /// its subject (its bytes come from ``MetadataStore/manifest(_:in:)``): enough to copy the
    /// manifests in an order a push could have taken.
    func manifestRecords(in repository: RepositoryName) async throws -> [ManifestRecord]
}

/// A stored manifest as a copy of the registry needs to order it: after the manifests it
/// references (an index's children) and after its subject.
public struct ManifestRecord: Sendable, Equatable {
    public var digest: Digest
    public var childManifests: [Digest]
    public var subject: Digest?

    public init(digest: Digest, childManifests: [Digest], subject: Digest?) {
        self.digest = digest
        self.childManifests = childManifests
        self.subject = subject
    }

    /// Folds the rows of a manifests-left-join-child-manifests query, ordered by manifest
    /// digest (one row per child, or one row with no child), into records.
    public static func folding(_ rows: [(digest: Digest, subject: Digest?, child: Digest?)]) -> [ManifestRecord] {
        var records: [ManifestRecord] = []
        for row in rows {
            if records.last?.digest != row.digest {
                records.append(ManifestRecord(digest: row.digest, childManifests: [], subject: row.subject))
            }
            if let child = row.child { records[records.count - 1].childManifests.append(child) }
        }
        return records
    }
}

/// A tag as retention rules see it.
public struct TagRecord: Sendable, Equatable {
    public var tag: Tag
    public var manifest: Digest
    /// When the tag was last pushed (moved).
    public var pushedAt: Date
    /// When it was last pulled by tag; nil if never (since pulls are recorded).
    public var pulledAt: Date?

    public init(tag: Tag, manifest: Digest, pushedAt: Date, pulledAt: Date?) {
        self.tag = tag
        self.manifest = manifest
        self.pushedAt = pushedAt
        self.pulledAt = pulledAt
    }
}

/// What one collection may delete.
public struct CollectionPlan: Sendable {
    /// Untagged manifests, repository links and blobs younger than this are kept whatever
    /// references them: pushes in progress (layers before the manifest, an index's children
    /// before the index) are not yet referenced.
    public var graceCutoff: Date
    /// Tags to delete (retention), each only if it still points at the recorded manifest.
    public var tagDeletions: [RepositoryName: [TagRecord]]
    /// How each repository's untagged manifests are treated.
    public var manifests: @Sendable (RepositoryName) -> ManifestSweep
    public var dryRun: Bool
    /// The event notifications of what a step deleted, written in the step's transaction (a dry
    /// run writes none).
    public var events: @Sendable (CollectionDeletion) -> [OutboxEvent]

    public init(
        graceCutoff: Date, tagDeletions: [RepositoryName: [TagRecord]] = [:],
        manifests: @escaping @Sendable (RepositoryName) -> ManifestSweep = { _ in .keepUntagged }, dryRun: Bool = false,
        events: @escaping @Sendable (CollectionDeletion) -> [OutboxEvent] = { _ in [] }
    ) {
        self.graceCutoff = graceCutoff
        self.tagDeletions = tagDeletions
        self.manifests = manifests
        self.dryRun = dryRun
        self.events = events
    }

    /// The events of the planned tag deletions that took place (`deleted`, per repository).
    public func events(ofDeletedTags deleted: [RepositoryName: [Tag]]) -> [OutboxEvent] {
        deleted.sorted { $0.key.value < $1.key.value }.flatMap { repository, tags in
            let records = (tagDeletions[repository] ?? []).filter { tags.contains($0.tag) }
            return events(.tags(repository, records))
        }
    }
}

/// What one step of a collection deleted, for its event notifications.
public enum CollectionDeletion: Sendable, Equatable {
    /// Tags retention deleted, each with the manifest it pointed at.
    case tags(RepositoryName, [TagRecord])
    /// Manifests nothing kept (untagged, past their age).
    case manifests(RepositoryName, [Digest])
    /// Repositories left with nothing.
    case repositories([RepositoryName])
}

/// Which manifests of a repository survive a collection.
public enum ManifestSweep: Sendable, Equatable {
    /// Every manifest is kept (the default: only deleted tags and manifests free space).
    case keepUntagged
    /// Kept: tagged manifests, those pushed at or after `olderThan`, and everything they reach
    /// (an index's children; with `keepReferrers`, manifests whose subject is kept). The rest go.
    case deleteUntagged(olderThan: Date, keepReferrers: Bool)
}

/// What a collection deleted (or, dry, would delete).
public struct CollectionResult: Sendable, Equatable {
    public var deletedTags: [RepositoryName: [Tag]] = [:]
    public var deletedManifests: [RepositoryName: [Digest]] = [:]
    public var removedLinks = 0
    public var deletedRepositories: [RepositoryName] = []
    public var deletedBlobs: [BlobRecord] = []

    public init() {}

    public var reclaimedBytes: Int64 { deletedBlobs.reduce(0) { $0 + $1.size } }
}

/// A blob whose records are gone and whose file is still to be removed, or with `quarantine`
/// moved aside for inspection.
public struct BlobTombstone: Sendable, Equatable {
    public var digest: Digest
    public var quarantine: Bool

    public init(digest: Digest, quarantine: Bool) {
        self.digest = digest
        self.quarantine = quarantine
    }
}

/// A stored blob's record.
public struct BlobRecord: Sendable, Equatable {
    public var digest: Digest
    public var size: Int64

    public init(digest: Digest, size: Int64) {
        self.digest = digest
        self.size = size
    }
}

/// Space figures, in bytes.
public struct UsageFigures: Sendable, Equatable {
    public struct Repository: Sendable, Equatable {
        public var name: RepositoryName
        public var manifests: Int
        public var tags: Int
        /// Sum over the repository's manifests of the blobs each references (config and layers):
        /// what users see when they add up image sizes.
        public var logical: Int64
        /// The distinct blobs the repository holds: what it occupies on disk.
        public var physical: Int64

        public init(name: RepositoryName, manifests: Int, tags: Int, logical: Int64, physical: Int64) {
            self.name = name
            self.manifests = manifests
            self.tags = tags
            self.logical = logical
            self.physical = physical
        }

        /// Bytes layer sharing saves inside the repository.
        public var saved: Int64 { max(0, logical - physical) }
    }

    public var repositories: [Repository]
    /// Sum of the repositories' logical sizes.
    public var logical: Int64
    /// Every stored blob once: the bytes under `blobs/`.
    public var physical: Int64
    public var blobs: Int

    public init(repositories: [Repository], logical: Int64, physical: Int64, blobs: Int) {
        self.repositories = repositories
        self.logical = logical
        self.physical = physical
        self.blobs = blobs
    }

    /// Bytes layer sharing saves across the registry.
    public var saved: Int64 { max(0, logical - physical) }
}
