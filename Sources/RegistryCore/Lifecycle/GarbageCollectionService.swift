import Foundation
import RegistryModel

/// The server's garbage collection: on a schedule and on demand (the admin endpoint), one at a
/// time, with the configured options.
public actor GarbageCollectionService {
    public let collector: GarbageCollector
    public let options: GarbageCollector.Options
    private var running = false

    public init(collector: GarbageCollector, options: GarbageCollector.Options) {
        self.collector = collector
        self.options = options
    }

    /// Collects now. `deleteUntagged` and `dryRun` override the configured options for this run.
    /// `TOOMANYREQUESTS` when a collection is already running in this process.
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
        return try await collector.collect(options)
    }
}
