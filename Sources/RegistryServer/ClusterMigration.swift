import Foundation
import Logging
import RegistryCore
import RegistryModel
import RegistryStorage

/// `registry migrate`: copies a single-node registry (a root: blob files and SQLite) into the
/// registry a configuration names (PostgreSQL and S3 for a cluster, or any other drivers),
/// through the destination's own registry semantics, as pushes would:
/// - per repository, in name order: its blobs (each streamed through an upload that hashes the
///   bytes as they go and lands only under the expected digest, so every digest is re-checked;
///   a blob another repository already brought over is mounted), then its manifests, byte-exact,
///   each after the manifests it references and after its subject, with its tags in the same
///   transaction; referrers follow from the manifests' subjects as on a push;
/// - what the destination already has (a blob linked and stored, a manifest, a tag pointing at
///   the right manifest) is skipped, so a run that was interrupted is finished by running it
///   again; nothing half-copied is ever visible (an interrupted upload is a session that the
///   destination's janitor expires);
/// - upload sessions of the source are not carried over.
public struct ClusterMigration: Sendable {
    public struct Options: Sendable {
        /// Blobs copied at once.
        public var parallelBlobs: Int
        /// Stops with ``MigrationError/stopped(afterCopiedBlobs:)`` once this many blobs were
        /// copied, leaving the destination as a run killed there would: to try a migration on a
        /// sample, and to test resumption.
        public var stopAfterCopiedBlobs: Int?

        public init(parallelBlobs: Int = 4, stopAfterCopiedBlobs: Int? = nil) {
            self.parallelBlobs = max(1, parallelBlobs)
            self.stopAfterCopiedBlobs = stopAfterCopiedBlobs
        }
    }

    let endpoints: MigrationEndpoints
    let options: Options
    let progress: MigrationProgress

    /// Opens the source root and the destination, copies, closes both.
    public static func run(
        fromRoot root: String, to configuration: RegistryConfiguration, options: Options = Options(),
        progress: MigrationProgress = MigrationProgress(), logger: Logger
    ) async throws -> MigrationReport {
        let endpoints = try await MigrationEndpoints.open(fromRoot: root, to: configuration, logger: logger)
        do {
            let report = try await ClusterMigration(endpoints: endpoints, options: options, progress: progress).run()
            try await endpoints.close()
            return report
        } catch {
            try? await endpoints.close()
            throw error
        }
    }

    /// One source repository as the run copies it, read before anything is copied.
    struct RepositoryPlan: Sendable {
        var name: RepositoryName
        var blobs: [BlobRecord]
        /// In ``ManifestOrder``.
        var manifests: [ManifestRecord]
        var tags: [Digest: [Tag]]
    }

    /// The report being built, and what the run learnt about blobs across repositories.
    struct RunState {
        var report = MigrationReport()
        /// Digests counted once already.
        var counted = Set<Digest>()
        /// Blobs that cannot be copied (bytes in the source corrupt or missing): not retried
        /// for the next repositories linking them.
        var unusable = Set<Digest>()
    }

    func run() async throws -> MigrationReport {
        let started = ContinuousClock.now
        let plans = try await plan()
        var total = MigrationProgress.Figures()
        let distinctBlobs = Dictionary(plans.flatMap(\.blobs).map { ($0.digest, $0.size) }, uniquingKeysWith: { first, _ in first })
        total.blobs = distinctBlobs.count
        total.bytes = distinctBlobs.values.reduce(0, +)
        total.manifests = plans.reduce(0) { $0 + $1.manifests.count }
        total.tags = plans.reduce(0) { $0 + $1.tags.values.reduce(0) { $0 + $1.count } }
        progress.start(total: total)

        var state = RunState()
        state.report.uploadSessionsDropped = try await endpoints.source.database.uploads(notUpdatedSince: .distantFuture).count
        for plan in plans {
            try await copyBlobs(of: plan, state: &state)
            try await copyManifests(of: plan, state: &state)
            state.report.repositories += 1
        }
        state.report.duration = ContinuousClock.now - started
        return state.report
    }

    private func plan() async throws -> [RepositoryPlan] {
        let source = endpoints.source.database
        var plans: [RepositoryPlan] = []
        for name in try await source.repositoryNames() {
            let tags = Dictionary(grouping: try await source.tagRecords(in: name), by: \.manifest).mapValues { $0.map(\.tag) }
            plans.append(RepositoryPlan(
                name: name, blobs: try await source.linkedBlobs(in: name),
                manifests: ManifestOrder.sorted(try await source.manifestRecords(in: name)), tags: tags))
        }
        return plans
    }
}
