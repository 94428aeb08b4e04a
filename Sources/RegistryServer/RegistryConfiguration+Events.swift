import Logging
import RegistryCore
import RegistryStorage

extension RegistryConfiguration {
    /// The event notifications `events` configures; nil without endpoints, so that a registry
    /// with none writes no outbox rows and runs no delivery.
    func makeEventNotifications(
        outbox: any EventOutbox, jobs: any ExclusiveJobs, logger: Logger, metrics: RegistryMetrics
    ) -> EventNotifications? {
        guard !events.endpoints.isEmpty else { return nil }
        return EventNotifications(
            outbox: outbox, jobs: jobs, source: events.resolvedSource,
            settings: EventDelivery.Settings(endpoints: events.endpoints, maxAge: events.maxAge), logger: logger,
            metrics: metrics)
    }

    /// The recorder alone, for the maintenance commands: the events of what `registry gc` and
    /// `registry rm` delete go to the outbox, and the running servers deliver them.
    func makeEventRecorder(outbox: any EventOutbox) -> EventRecorder? {
        guard !events.endpoints.isEmpty else { return nil }
        return EventRecorder(
            outbox: outbox, encoder: CloudEventEncoder(source: events.resolvedSource), filters: events.endpoints.map(\.filter))
    }
}
