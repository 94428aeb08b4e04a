import Foundation
import Logging
import RegistryModel
import RegistryStorage

/// Online garbage collection: applies retention rules, then deletes what nothing keeps, while
/// the registry goes on serving (see ``MetadataMaintenance/collectGarbage(_:disposing:)`` for
/// why concurrent pushes and pulls are safe, and why a crash at any instant loses nothing).
///
/// Marking starts from every tag and, unless untagged manifests are to go, every manifest;
/// it follows an index to its children, a manifest to its config and layers, and a subject to
/// its referrers. Anything younger than the grace period is kept whatever references it. Blob
/// files that no record owns (a crash between a file's link and its records' commit) are removed
/// once older than the grace period.
public struct GarbageCollector: Sendable {
    public struct Options: Sendable, Equatable {
        /// Unreferenced blobs, links and untagged manifests younger than this are kept.
        public var gracePeriod: Duration
        /// Delete untagged manifests that nothing keeps (older than the grace period).
        public var deleteUntagged: Bool
        public var dryRun: Bool
        public var retention: RetentionPolicy
        /// Tags retention never deletes, whatever its rules say (so neither does the
        /// collection: a tagged manifest and what it references are always kept).
        public var immutableTags = ImmutableTagRules()

        public init(
            gracePeriod: Duration = .seconds(3600), deleteUntagged: Bool = false, dryRun: Bool = false,
            retention: RetentionPolicy = RetentionPolicy()
        ) {
            self.gracePeriod = gracePeriod
            self.deleteUntagged = deleteUntagged
            self.dryRun = dryRun
            self.retention = retention
        }
    }

    let metadata: any MetadataMaintenance
    let blobs: any BlobStore
    /// Writes the event notifications of what a collection deletes; nil without endpoints.
    let events: EventRecorder?
    let logger: Logger

    public init(metadata: any MetadataMaintenance, blobs: any BlobStore, events: EventRecorder? = nil, logger: Logger) {
        self.metadata = metadata
        self.blobs = blobs
        self.events = events
        self.logger = logger
    }

    public func collect(_ options: Options, now: Date = Date()) async throws -> GarbageCollectionReport {
        let clock = ContinuousClock()
        let started = clock.now
        var tagDeletions: [RepositoryName: [TagRecord]] = [:]
        for repository in try await metadata.repositoryNames() {
            guard let rule = options.retention.rule(for: repository), rule.constrainsTags else { continue }
            let doomed = rule.tagsToDelete(try await metadata.tagRecords(in: repository), now: now)
                .filter { options.immutableTags.rule(protecting: $0.tag, in: repository) == nil }
            if !doomed.isEmpty { tagDeletions[repository] = doomed }
        }
        // A blob use is written at most ``UseRecorder/coalescingWindow`` before the request that
        // made it: counting the window in keeps every seen blob for the whole grace period (a
        // grace period of zero promises nothing, and gets nothing added).
        let window = options.gracePeriod > .zero ? UseRecorder.coalescingWindow : .zero
        let graceCutoff = now.addingTimeInterval(-(options.gracePeriod + window).timeInterval)
        let retention = options.retention
        let deleteUntagged = options.deleteUntagged
        let recorder = events
        let notifications: @Sendable (CollectionDeletion) -> [OutboxEvent] = { deletion in
            recorder?.outboxEvents(RegistryEvent.events(of: deletion)) ?? []
        }
        let withRetention = CollectionPlan(
            graceCutoff: graceCutoff, tagDeletions: tagDeletions,
            manifests: { repository in
                Self.sweep(for: repository, retention: retention, deleteUntagged: deleteUntagged, graceCutoff: graceCutoff, now: now)
            },
            dryRun: options.dryRun, events: notifications)
        let blobs = self.blobs
        let disposing: @Sendable ([BlobTombstone]) async throws -> Void = { tombstones in try await blobs.dispose(tombstones) }

        var report = GarbageCollectionReport(dryRun: options.dryRun)
        if retention.dryRun && !options.dryRun {
            // The rules only report: what they would delete, then a collection without them.
            var rulesOnly = withRetention
            rulesOnly.dryRun = true
            report.retentionDryRun = try await metadata.collectGarbage(rulesOnly, disposing: disposing)
            let withoutRetention = CollectionPlan(
                graceCutoff: graceCutoff,
                manifests: { _ in deleteUntagged ? .deleteUntagged(olderThan: graceCutoff, keepReferrers: true) : .keepUntagged },
                events: notifications)
            report.result = try await metadata.collectGarbage(withoutRetention, disposing: disposing)
        } else {
            report.result = try await metadata.collectGarbage(withRetention, disposing: disposing)
        }
        if !options.dryRun {
            let orphans = try await blobs.storedDigests(changedBefore: graceCutoff)
            report.removedOrphanFiles = try await metadata.removeUnrecordedBlobFiles(orphans) { digests in
                try await blobs.delete(digests)
            }
        }
        report.duration = clock.now - started
        logger.info("garbage collection finished", metadata: report.logMetadata)
        return report
    }

    static func sweep(
        for repository: RepositoryName, retention: RetentionPolicy, deleteUntagged: Bool, graceCutoff: Date, now: Date
    ) -> ManifestSweep {
        let rule = retention.rule(for: repository)
        if let age = rule?.keepUntaggedFor {
            return .deleteUntagged(olderThan: now.addingTimeInterval(-age.timeInterval), keepReferrers: rule?.keepReferrers ?? true)
        }
        if deleteUntagged {
            return .deleteUntagged(olderThan: graceCutoff, keepReferrers: rule?.keepReferrers ?? true)
        }
        return .keepUntagged
    }
}

/// What a collection did (or, dry, would do).
public struct GarbageCollectionReport: Sendable, Equatable {
    public var dryRun: Bool
    public var result = CollectionResult()
    /// With retention rules in dry-run mode: what the rules alone would have deleted.
    public var retentionDryRun: CollectionResult?
    /// Blob files that no record owned, older than the grace period (left by a crash), removed.
    public var removedOrphanFiles: [Digest] = []
    public var duration: Duration = .zero

    public init(dryRun: Bool) {
        self.dryRun = dryRun
    }

    var logMetadata: Logger.Metadata {
        [
            "dry_run": "\(dryRun)",
            "tags": "\(result.deletedTags.values.reduce(0) { $0 + $1.count })",
            "manifests": "\(result.deletedManifests.values.reduce(0) { $0 + $1.count })",
            "blobs": "\(result.deletedBlobs.count)",
            "bytes": "\(result.reclaimedBytes)",
            "orphan_files": "\(removedOrphanFiles.count)",
            "seconds": "\(duration.timeInterval)",
        ]
    }
}

/// A report as JSON (the admin endpoint, `registry gc --json`).
public struct GarbageCollectionSummary: Encodable, Sendable {
    public struct Deletions: Encodable, Sendable {
        var tags: [String: [String]]
        var manifests: [String: [String]]
        var repositories: [String]
        var blobs: [String]
        var tagsDeleted: Int
        var manifestsDeleted: Int
        var linksRemoved: Int
        var blobsDeleted: Int
        var bytesReclaimed: Int64

        init(_ result: CollectionResult) {
            tags = Dictionary(uniqueKeysWithValues: result.deletedTags.map { ($0.key.value, $0.value.map(\.value)) })
            manifests = Dictionary(uniqueKeysWithValues: result.deletedManifests.map { ($0.key.value, $0.value.map(\.description)) })
            repositories = result.deletedRepositories.map(\.value)
            blobs = result.deletedBlobs.map(\.digest.description)
            tagsDeleted = result.deletedTags.values.reduce(0) { $0 + $1.count }
            manifestsDeleted = result.deletedManifests.values.reduce(0) { $0 + $1.count }
            linksRemoved = result.removedLinks
            blobsDeleted = result.deletedBlobs.count
            bytesReclaimed = result.reclaimedBytes
        }

        enum CodingKeys: String, CodingKey {
            case tags, manifests, repositories, blobs
            case tagsDeleted = "tags_deleted", manifestsDeleted = "manifests_deleted", linksRemoved = "links_removed"
            case blobsDeleted = "blobs_deleted", bytesReclaimed = "bytes_reclaimed"
        }
    }

    var dryRun: Bool
    var seconds: Double
    var deleted: Deletions
    var retentionDryRun: Deletions?
    var orphanFilesRemoved: [String]

    public init(_ report: GarbageCollectionReport) {
        dryRun = report.dryRun
        seconds = report.duration.timeInterval
        deleted = Deletions(report.result)
        retentionDryRun = report.retentionDryRun.map(Deletions.init)
        orphanFilesRemoved = report.removedOrphanFiles.map(\.description)
    }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", seconds, deleted, retentionDryRun = "retention_dry_run"
        case orphanFilesRemoved = "orphan_files_removed"
    }
}
