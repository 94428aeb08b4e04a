import Logging
import RegistryStorage

/// Event notifications of one registry process: the recorder the registry writes events
/// through, and the delivery that sends them. Exists only when an endpoint is configured, so
/// a registry without endpoints writes no outbox rows at all.
public struct EventNotifications: Sendable {
    public let recorder: EventRecorder
    public let delivery: EventDelivery
    private let logger: Logger

    public init(
        outbox: any EventOutbox, jobs: any ExclusiveJobs, source: String, settings: EventDelivery.Settings, logger: Logger,
        metrics: RegistryMetrics = .disabled
    ) {
        recorder = EventRecorder(outbox: outbox, encoder: CloudEventEncoder(source: source), filters: settings.endpoints.map(\.filter))
        delivery = EventDelivery(outbox: outbox, jobs: jobs, settings: settings, logger: logger, metrics: metrics)
        self.logger = logger
    }

    /// Flushes queued events and delivers, until cancelled; then call ``finish()``.
    public func run() async {
        let (recorder, delivery, logger) = (recorder, delivery, logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await recorder.run { error in logger.warning("recording events failed", metadata: ["error": "\(error)"]) }
            }
            group.addTask { await delivery.run() }
        }
    }

    /// Writes what is still queued. Runs to completion even when the caller is cancelled (a
    /// stopping registry's task is, and SQLite refuses work from cancelled tasks).
    public func finish() async {
        let recorder = self.recorder
        do {
            try await Task { try await recorder.flush() }.value
        } catch {
            logger.warning("recording events failed at shutdown", metadata: ["error": "\(error)"])
        }
    }
}
