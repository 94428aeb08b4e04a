import CoreMetrics
import NIOConcurrencyHelpers
import Prometheus

/// The registry's metrics: owns every swift-metrics handle, made with one server's own factory
/// (never the process-wide `MetricsSystem`, so that many servers can run in one process, as the
/// tests do), and offers one method per thing worth counting.
///
/// Label values come from closed sets (``RequestRoute``, ``RequestMethod``, ``StatusClass``, the
/// outcomes below); a repository name becomes a label only with ``perRepository``. Handles are
/// made once, at start or on the first use of a label combination, so that counting on the hot
/// path is an atomic add (and a lock for the handle table of requests).
///
/// Adding a metric: its name in ``Names`` (`_total` for a counter, the unit last: `_bytes`,
/// `_seconds`), a `let` handle made in `init` (`MetricCounter(label:dimensions:factory:)`, or a
/// gauge, meter or timer), a method that records it, a row in the README's table, and the call
/// where it happens. The last section below has those that events, rate limits and quotas record.
public final class RegistryMetrics: Sendable {
    /// Whether the request and byte counters carry a `repository` label.
    public let perRepository: Bool
    /// Where the handles' values are kept for the exposition; nil when metrics are off.
    let collectors: PrometheusCollectorRegistry?
    let requests: RequestMetrics

    // Transfers.
    private let bytesPushed: RepositoryCounter
    private let bytesPulled: RepositoryCounter
    private let uploadsInProgress: MetricMeter

    // Storage, set from the metadata database by ``StorageGauges``.
    let blobsStored: MetricGauge
    let bytesStored: MetricGauge
    let sharedBytesSaved: MetricGauge
    let uploadSessions: MetricGauge

    // Pull-through cache.
    private let proxyHits: [ProxyContent: MetricCounter]
    private let proxyMisses: [ProxyContent: MetricCounter]
    private let upstreamErrors: MetricCounter

    // Garbage collection.
    private let gcRuns: [GarbageCollectionOutcome: MetricCounter]
    private let gcDuration: MetricTimer
    private let gcBytesReclaimed: MetricCounter
    private let gcBlobsDeleted: MetricCounter

    // Access.
    private let loginFailures: MetricCounter
    private let loginsThrottled: MetricCounter

    // Events, rate limits, quotas: recorded by those features.
    private let eventsPending: MetricGauge
    private let eventDeliveriesFailed: MetricCounter
    private let eventsDropped: MetricCounter
    private let requestsThrottled: MetricCounter
    private let quotaWarnings: MetricCounter

    /// Metrics that go nowhere: what a server with `metrics.enabled: false` records into.
    public static let disabled = RegistryMetrics(factory: NOOPMetricsHandler.instance, collectors: nil, perRepository: false)

    /// Metrics kept in a new Prometheus registry of their own, for one server.
    public static func prometheus(perRepository: Bool = false) -> RegistryMetrics {
        let collectors = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: collectors)
        factory.durationHistogramBuckets = [
            Names.requestDuration: RequestMetrics.durationBuckets,
            Names.gcDuration: [1, 5, 15, 60, 300, 900, 3600].map { Duration.seconds($0) },
        ]
        return RegistryMetrics(factory: factory, collectors: collectors, perRepository: perRepository)
    }

    private init(factory: any MetricsFactory, collectors: PrometheusCollectorRegistry?, perRepository: Bool) {
        self.collectors = collectors
        self.perRepository = perRepository
        requests = RequestMetrics(factory: factory, perRepository: perRepository)
        bytesPushed = RepositoryCounter(Names.bytesPushed, factory: factory, perRepository: perRepository)
        bytesPulled = RepositoryCounter(Names.bytesPulled, factory: factory, perRepository: perRepository)
        uploadsInProgress = MetricMeter(label: Names.uploadsInProgress, factory: factory)
        blobsStored = MetricGauge(label: Names.blobsStored, factory: factory)
        bytesStored = MetricGauge(label: Names.bytesStored, factory: factory)
        sharedBytesSaved = MetricGauge(label: Names.sharedBytesSaved, factory: factory)
        uploadSessions = MetricGauge(label: Names.uploadSessions, factory: factory)
        proxyHits = Dictionary(uniqueKeysWithValues: ProxyContent.allCases.map {
            ($0, MetricCounter(label: Names.proxyHits, dimensions: [("content", $0.rawValue)], factory: factory))
        })
        proxyMisses = Dictionary(uniqueKeysWithValues: ProxyContent.allCases.map {
            ($0, MetricCounter(label: Names.proxyMisses, dimensions: [("content", $0.rawValue)], factory: factory))
        })
        upstreamErrors = MetricCounter(label: Names.upstreamErrors, factory: factory)
        gcRuns = Dictionary(uniqueKeysWithValues: GarbageCollectionOutcome.allCases.map {
            ($0, MetricCounter(label: Names.gcRuns, dimensions: [("outcome", $0.rawValue)], factory: factory))
        })
        gcDuration = MetricTimer(label: Names.gcDuration, factory: factory)
        gcBytesReclaimed = MetricCounter(label: Names.gcBytesReclaimed, factory: factory)
        gcBlobsDeleted = MetricCounter(label: Names.gcBlobsDeleted, factory: factory)
        loginFailures = MetricCounter(label: Names.loginFailures, factory: factory)
        loginsThrottled = MetricCounter(label: Names.loginsThrottled, factory: factory)
        eventsPending = MetricGauge(label: Names.eventsPending, factory: factory)
        eventDeliveriesFailed = MetricCounter(label: Names.eventDeliveriesFailed, factory: factory)
        eventsDropped = MetricCounter(label: Names.eventsDropped, factory: factory)
        requestsThrottled = MetricCounter(label: Names.requestsThrottled, factory: factory)
        quotaWarnings = MetricCounter(label: Names.quotaWarnings, factory: factory)
    }

    /// The metric names, each once.
    enum Names {
        static let requests = "registry_http_requests_total"
        static let requestDuration = "registry_http_request_duration_seconds"
        static let bytesPushed = "registry_bytes_pushed_total"
        static let bytesPulled = "registry_bytes_pulled_total"
        static let uploadsInProgress = "registry_uploads_in_progress"
        static let blobsStored = "registry_storage_blobs"
        static let bytesStored = "registry_storage_bytes"
        static let sharedBytesSaved = "registry_storage_shared_bytes_saved"
        static let uploadSessions = "registry_upload_sessions"
        static let proxyHits = "registry_proxy_cache_hits_total"
        static let proxyMisses = "registry_proxy_cache_misses_total"
        static let upstreamErrors = "registry_proxy_upstream_errors_total"
        static let gcRuns = "registry_gc_runs_total"
        static let gcDuration = "registry_gc_duration_seconds"
        static let gcBytesReclaimed = "registry_gc_bytes_reclaimed_total"
        static let gcBlobsDeleted = "registry_gc_blobs_deleted_total"
        static let loginFailures = "registry_login_failures_total"
        static let loginsThrottled = "registry_login_throttled_total"
        static let eventsPending = "registry_events_pending"
        static let eventDeliveriesFailed = "registry_event_deliveries_failed_total"
        static let eventsDropped = "registry_events_dropped_total"
        static let requestsThrottled = "registry_requests_throttled_total"
        static let quotaWarnings = "registry_quota_warnings_total"
    }

    // MARK: Requests and transfers

    /// One request answered: counted by route, method and status class, its time (from the
    /// request's head to the response's last byte) into the latency histogram; the bytes of a
    /// blob body served count as pulled. `repository` is used only with ``perRepository``.
    public func requestFinished(
        route: RequestRoute, method: RequestMethod, status: Int, duration: Duration, responseBodyBytes: Int64,
        repository: @autoclosure () -> String?
    ) {
        let statusClass = StatusClass(code: status)
        let name = perRepository ? requests.repositoryLabel(repository(), statusClass: statusClass) : nil
        requests.record(route: route, method: method, status: statusClass, duration: duration, repository: name)
        if route == .blob, method == .GET, statusClass == .success, responseBodyBytes > 0 {
            bytesPulled.increment(by: responseBodyBytes, repository: name)
        }
    }

    /// Bytes of an upload body written to a session (`PATCH`, `PUT`, monolithic `POST`).
    public func uploaded(_ bytes: Int64, to repository: String) {
        guard bytes > 0 else { return }
        bytesPushed.increment(by: bytes, repository: perRepository ? repository : nil)
    }

    /// An upload body began streaming into a session; pair with ``uploadEnded()``.
    public func uploadStarted() { uploadsInProgress.increment() }
    public func uploadEnded() { uploadsInProgress.decrement() }

    // MARK: Pull-through cache

    public enum ProxyContent: String, Sendable, CaseIterable {
        case manifest, blob
    }

    /// Served from the cache without fetching content from the upstream.
    public func proxyHit(_ content: ProxyContent) { proxyHits[content]?.increment() }
    /// Content had to come from the upstream (or be checked with it, for a tag due a recheck).
    public func proxyMiss(_ content: ProxyContent) { proxyMisses[content]?.increment() }
    /// The upstream could not be reached, answered with an error, or sent bad content.
    public func upstreamFailed() { upstreamErrors.increment() }

    // MARK: Garbage collection

    public enum GarbageCollectionOutcome: String, Sendable, CaseIterable {
        case completed, dryRun = "dry_run", failed
    }

    /// A collection ran: what it reclaimed counts unless it was a dry run.
    public func garbageCollected(_ outcome: GarbageCollectionOutcome, duration: Duration, bytesReclaimed: Int64, blobsDeleted: Int) {
        gcRuns[outcome]?.increment()
        gcDuration.recordNanoseconds(duration.nanoseconds)
        guard outcome == .completed else { return }
        gcBytesReclaimed.increment(by: bytesReclaimed)
        gcBlobsDeleted.increment(by: blobsDeleted)
    }

    // MARK: Access

    /// A wrong user name or password.
    public func loginFailed() { loginFailures.increment() }
    /// A login refused unchecked because its client and user failed too often.
    public func loginThrottled() { loginsThrottled.increment() }

    // MARK: Events, rate limits, quotas

    /// Events written to the outbox and not yet delivered, across endpoints.
    public func eventsPending(_ count: Int) { eventsPending.record(count) }
    /// A delivery attempt that failed (it will be retried).
    public func eventDeliveryFailed() { eventDeliveriesFailed.increment() }
    /// An event given up on past its maximum age.
    public func eventDropped() { eventsDropped.increment() }
    /// A request refused with `429` by a rate limit.
    public func requestThrottled() { requestsThrottled.increment() }
    /// A repository crossed its quota's warning percentage.
    public func quotaWarning() { quotaWarnings.increment() }
}

extension Duration {
    /// Whole nanoseconds (saturating), as swift-metrics' timers take them.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product + attoseconds / 1_000_000_000
    }
}
