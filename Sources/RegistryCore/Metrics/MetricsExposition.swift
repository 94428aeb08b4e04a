import Logging
import RegistryStorage

/// What `GET /metrics` answers: the current values of one server's ``RegistryMetrics`` in the
/// Prometheus text format (version 0.0.4), with the storage gauges brought up to date first.
public final class MetricsExposition: Sendable {
    /// The `Content-Type` of ``render()``'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let metrics: RegistryMetrics
    private let storage: StorageGauges?

    /// `storage` is asked for the registry-wide totals at most once per `storageRefresh` (nil:
    /// at every scrape); without it the storage gauges stay at zero.
    public init(metrics: RegistryMetrics, storage: (any StorageTotalsSource)?, storageRefresh: Duration?, logger: Logger) {
        self.metrics = metrics
        self.storage = storage.map { StorageGauges(source: $0, metrics: metrics, refresh: storageRefresh, logger: logger) }
    }

    /// The exposition; empty when metrics are disabled.
    public func render() async -> [UInt8] {
        guard let collectors = metrics.collectors else { return [] }
        await storage?.refreshIfDue()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        collectors.emit(into: &buffer)
        return buffer
    }
}

/// The storage gauges (blobs, bytes, bytes saved by sharing, open upload sessions), set from one
/// query of the metadata database. Its result is kept for a few seconds so that several
/// scrapers, or a scraper with a short interval, cost the database one query per period.
actor StorageGauges {
    private let source: any StorageTotalsSource
    private let metrics: RegistryMetrics
    private let refresh: Duration?
    private let logger: Logger
    private var refreshed: ContinuousClock.Instant?

    init(source: any StorageTotalsSource, metrics: RegistryMetrics, refresh: Duration?, logger: Logger) {
        self.source = source
        self.metrics = metrics
        self.refresh = refresh
        self.logger = logger
    }

    /// Queries and sets the gauges unless that was done within the refresh period. A failed
    /// query keeps the previous values (and is logged): a scrape still answers.
    func refreshIfDue() async {
        let now = ContinuousClock.now
        if let refresh, let refreshed, now - refreshed < refresh { return }
        do {
            let totals = try await source.storageTotals()
            metrics.blobsStored.record(totals.blobs)
            metrics.bytesStored.record(totals.bytes)
            metrics.sharedBytesSaved.record(totals.sharedBytesSaved)
            metrics.uploadSessions.record(totals.uploadSessions)
            refreshed = now
        } catch {
            logger.warning("metrics: reading the storage totals failed", metadata: ["error": "\(error)"])
        }
    }
}
