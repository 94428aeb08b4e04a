import Foundation
import Logging
import RegistryStorage

/// Deletes audit records older than the retention period, periodically, one process at a time
/// among those sharing the database.
public struct AuditPruner: Sendable {
    public static let job = "audit-prune"

    public let retention: Duration
    private let store: any AuditLogStore
    private let jobs: any ExclusiveJobs
    private let logger: Logger

    public init(store: any AuditLogStore, jobs: any ExclusiveJobs, retention: Duration, logger: Logger) {
        self.store = store
        self.jobs = jobs
        self.retention = retention
        self.logger = logger
    }

    /// How often to prune: a tenth of the retention, between a second and an hour (a record
    /// outlives its retention by at most that).
    public var interval: Duration {
        min(max(retention / 10, .seconds(1)), .seconds(3600))
    }

    /// Deletes what is older than the retention now; nil when another process is pruning.
    @discardableResult
    public func prune(now: Date = Date()) async throws -> Int? {
        let cutoff = now.addingTimeInterval(-Double(retention.components.seconds))
        return try await jobs.runExclusively(Self.job) { [store] in try await store.pruneAuditRecords(before: cutoff) }
    }

    /// Prunes at start and every ``interval`` until cancelled.
    public func run() async {
        while !Task.isCancelled {
            do {
                if let deleted = try await prune(), deleted > 0 {
                    logger.info("pruned the audit log", metadata: ["deleted": "\(deleted)"])
                }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("pruning the audit log failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
