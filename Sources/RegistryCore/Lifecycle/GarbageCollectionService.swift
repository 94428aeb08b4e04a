import Foundation
import RegistryModel
import RegistryStorage

/// The server's garbage collection: on a schedule and on demand (the admin endpoint), one at a
/// time, with the configured options.
public actor GarbageCollectionService {
    public let collector: GarbageCollector
    public let options: GarbageCollector.Options
    /// Where collections are claimed, so that one process at a time collects among those
    /// sharing the metadata (replicas, `registry gc`).
    private let jobs: any ExclusiveJobs
    private var running = false
    /// Counts the runs, their durations and what they reclaimed.
    private let metrics: RegistryMetrics

    public init(
        collector: GarbageCollector, options: GarbageCollector.Options, jobs: any ExclusiveJobs, metrics: RegistryMetrics = .disabled
    ) {
        self.collector = collector
        self.options = options
        self.jobs = jobs
        self.metrics = metrics
    }

    /// The job name collections are claimed under.
    public static let job = "gc"


    /// Collects now. `deleteUntagged` and `dryRun` override the configured options for this run.
    /// `TOOMANYREQUESTS` when a collection is already running, here or in another process.
    public func collect(deleteUntagged: Bool? = nil, dryRun: Bool? = nil) async throws -> GarbageCollectionReport {
        guard !running else {
            // A collection takes seconds to minutes; asking again sooner only adds load.
            throw RegistryError(
                .tooManyRequests, message: "a garbage collection is already running", headers: [("Retry-After", "30")])
        }
        running = true
        defer { running = false }
        var options = self.options
        if let deleteUntagged { options.deleteUntagged = deleteUntagged }
        if let dryRun { options.dryRun = dryRun }
        let collector = self.collector
        let started = ContinuousClock.now
        let claimed: GarbageCollectionReport?
        do {
            claimed = try await jobs.runExclusively(Self.job, { [options] in try await collector.collect(options) })
        } catch {
            metrics.garbageCollected(.failed, duration: ContinuousClock.now - started, bytesReclaimed: 0, blobsDeleted: 0)
            throw error
        }
        guard let report = claimed else {
            throw RegistryError(
                .tooManyRequests, message: "a garbage collection is already running in another registry process",
                headers: [("Retry-After", "30")])
        }
        metrics.garbageCollected(
            report.dryRun ? .dryRun : .completed, duration: report.duration,
            bytesReclaimed: report.result.reclaimedBytes, blobsDeleted: report.result.deletedBlobs.count)
        return report
    }
}
