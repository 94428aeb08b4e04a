import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import RegistryStorage

/// Delivers the outbox to the configured endpoints, in the background: a push never waits
/// for it, and an endpoint that is down only delays its own events.
///
/// - Order: each endpoint has its own loop and cursor (the last sequence it is done with, kept
///   in the database); an event is sent only once every earlier event the endpoint wants was
///   delivered or dropped, so a failing event holds back the ones after it.
/// - Retries: a failed attempt is tried again after ``DeliveryBackoff`` (1 s doubling to
///   5 min); an event older than `maxAge` when its turn comes is dropped, counted and logged.
/// - At least once: the cursor moves after the receiver's `2xx` (written at the end of each
///   batch, and every ``cursorInterval`` within one), so a crash sends again what was delivered
///   since the last write (receivers deduplicate on the CloudEvents `id`).
/// - Several processes: one delivers at a time, the one holding the `event-delivery` job
///   claim (``ExclusiveJobs``); the others try to take it over every few seconds, so a
///   replica that dies hands delivery to another within that time.
/// - Pruning: events every configured endpoint is done with are deleted.
public final class EventDelivery: Sendable {
    public struct Settings: Sendable {
        public var endpoints: [EventEndpoint]
        /// Events not delivered within this age are dropped.
        public var maxAge: Duration
        public var backoff: DeliveryBackoff
        /// How often an idle endpoint looks for new events (other replicas write them too).
        public var pollInterval: Duration
        /// How often a process without the claim tries to take it.
        public var claimInterval: Duration

        public init(
            endpoints: [EventEndpoint], maxAge: Duration = .seconds(24 * 3600), backoff: DeliveryBackoff = DeliveryBackoff(),
            pollInterval: Duration = .milliseconds(250), claimInterval: Duration = .seconds(5)
        ) {
            self.endpoints = endpoints
            self.maxAge = maxAge
            self.backoff = backoff
            self.pollInterval = pollInterval
            self.claimInterval = claimInterval
        }
    }

    /// Figures for metrics.
    public struct Counts: Sendable, Equatable {
        /// Events in the outbox that some endpoint has yet to be done with (as of the last check).
        public var pending = 0
        /// Successful deliveries.
        public var delivered = 0
        /// Failed attempts (each retry counts).
        public var failed = 0
        /// Events given up on past `maxAge`.
        public var dropped = 0
    }

    static let jobName = "event-delivery"
    static let batchSize = 100
    /// How often an endpoint's position is written while a batch is being delivered.
    static let cursorInterval: Duration = .milliseconds(250)

    private let outbox: any EventOutbox
    private let jobs: any ExclusiveJobs
    public let settings: Settings
    private let logger: Logger
    private struct State {
        var counts = Counts()
        var prunedThrough: Int64 = 0
    }

    private let state = NIOLockedValueBox(State())
    /// Mirrors the counts as `registry_events_pending`, `registry_event_deliveries_failed_total`
    /// and `registry_events_dropped_total`. Only the process that delivers (one at a time among
    /// replicas) refreshes the pending gauge; the others report what they last saw.
    private let metrics: RegistryMetrics

    public init(
        outbox: any EventOutbox, jobs: any ExclusiveJobs, settings: Settings, logger: Logger, metrics: RegistryMetrics = .disabled
    ) {
        self.metrics = metrics
        self.outbox = outbox
        self.jobs = jobs
        self.settings = settings
        self.logger = logger
    }

    public var counts: Counts { state.withLockedValue { $0.counts } }
    public var pending: Int { counts.pending }
    public var delivered: Int { counts.delivered }
    public var failed: Int { counts.failed }
    public var dropped: Int { counts.dropped }

    /// Delivers until cancelled (when this process holds the claim; otherwise waits for it).
    public func run() async {
        guard !settings.endpoints.isEmpty else { return }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(5))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let sender = WebhookSender(client: client)
        while !Task.isCancelled {
            do {
                let claimed = try await jobs.runExclusively(Self.jobName) { () async throws -> Bool in
                    await self.deliverAll(sender)
                    return true
                }
                if claimed == nil {
                    logger.debug("event delivery: another process delivers")
                }
            } catch {
                logger.warning("event delivery could not claim its job", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: settings.claimInterval)
        }
        try? await client.shutdown()
    }

    /// Every endpoint's loop and the pruner, until cancelled.
    private func deliverAll(_ sender: WebhookSender) async {
        await withTaskGroup(of: Void.self) { group in
            for endpoint in settings.endpoints {
                group.addTask { await self.deliver(to: endpoint, sender) }
            }
            group.addTask { await self.pruneRegularly() }
            await group.waitForAll()
        }
    }

    private func deliver(to endpoint: EventEndpoint, _ sender: WebhookSender) async {
        var cursor: Int64?
        var backoff = settings.backoff
        while !Task.isCancelled {
            do {
                if cursor == nil { cursor = try await outbox.eventCursor(endpoint.name) ?? 0 }
                let start = cursor ?? 0
                let batch = try await outbox.events(after: start, limit: Self.batchSize)
                guard !batch.isEmpty else {
                    try await Task.sleep(for: settings.pollInterval)
                    continue
                }
                var kept = start
                var keptAt = ContinuousClock.now
                for stored in batch {
                    if endpoint.filter.matches(action: stored.event.action, repository: stored.event.repository) {
                        try await deliver(stored, to: endpoint, sender, backoff: &backoff)
                        // Every cursor write is a write transaction, which makes the registries'
                        // read caches start over: kept at most every quarter second while a
                        // batch flows, so a restart resends at most that long's deliveries.
                        if ContinuousClock.now - keptAt >= Self.cursorInterval {
                            try await outbox.setEventCursor(endpoint.name, to: stored.sequence)
                            (kept, keptAt) = (stored.sequence, .now)
                        }
                    }
                    cursor = stored.sequence
                }
                // The end of a batch is always kept, with the events the endpoint does not want.
                if let cursor, cursor != kept { try await outbox.setEventCursor(endpoint.name, to: cursor) }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("event delivery: outbox unavailable", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Sends one event until the endpoint takes it or it is too old; throws only when cancelled.
    private func deliver(
        _ stored: StoredEvent, to endpoint: EventEndpoint, _ sender: WebhookSender, backoff: inout DeliveryBackoff
    ) async throws {
        var attempts = 0
        while true {
            try Task.checkCancellation()
            let age = Date().timeIntervalSince(stored.event.createdAt)
            if age > Self.seconds(settings.maxAge) {
                state.withLockedValue { $0.counts.dropped += 1 }
                metrics.eventDropped()
                logger.error("event dropped: not delivered within events.max_age", metadata: [
                    "endpoint": "\(endpoint.name)", "sequence": "\(stored.sequence)", "action": "\(stored.event.action)",
                    "repository": "\(stored.event.repository)", "attempts": "\(attempts)",
                ])
                return
            }
            do {
                attempts += 1
                try await sender.send(stored.event.body, to: endpoint)
                state.withLockedValue { $0.counts.delivered += 1 }
                backoff.reset()
                return
            } catch {
                state.withLockedValue { $0.counts.failed += 1 }
                metrics.eventDeliveryFailed()
                let wait = backoff.next()
                logger.warning("event delivery failed", metadata: [
                    "endpoint": "\(endpoint.name)", "sequence": "\(stored.sequence)", "attempt": "\(attempts)",
                    "retry_in": "\(wait)", "error": "\(error)",
                ])
                try await Task.sleep(for: wait)
            }
        }
    }

    /// Deletes what every endpoint is done with and refreshes ``Counts/pending``, every few seconds.
    private func pruneRegularly() async {
        while !Task.isCancelled {
            do {
                try await prune()
                try await Task.sleep(for: .seconds(2))
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("event outbox pruning failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// Deletes only when a cursor moved: every write makes the registries' read caches start
    /// over, so an idle outbox costs no writes.
    func prune() async throws {
        var lowest = Int64.max
        for endpoint in settings.endpoints {
            lowest = min(lowest, try await outbox.eventCursor(endpoint.name) ?? 0)
        }
        let pruneFrom = state.withLockedValue { $0.prunedThrough }
        if lowest > pruneFrom {
            try await outbox.deleteEvents(through: lowest)
            state.withLockedValue { $0.prunedThrough = lowest }
        }
        let pending = try await outbox.eventCount(after: lowest)
        state.withLockedValue { $0.counts.pending = pending }
        metrics.eventsPending(pending)
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
