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
}
