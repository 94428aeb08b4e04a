import Logging
import RegistryCore
import RegistryHTTP
import RegistryStorage

/// How `registry serve` serves its metrics: per ``MetricsSettings``, on the registry's listener
/// in front of the registry's responder, on a listener of their own, or not at all.
struct MetricsServing {
    let metrics: RegistryMetrics
    /// What the registry's listener answers with: the registry, with `/metrics` in front of it
    /// when the metrics share the listener.
    let responder: any HTTPResponder
    /// The metrics' own listener, when `metrics.listen` is set.
    let server: HTTPServer?
    /// Counts the registry listener's requests; nil when metrics are off.
    let observer: (any HTTPRequestObserver)?

    static func metrics(for settings: MetricsSettings) -> RegistryMetrics {
        settings.enabled ? .prometheus(perRepository: settings.perRepository) : .disabled
    }

    init(
        _ settings: MetricsSettings, metrics: RegistryMetrics, storage: any StorageTotalsSource, registry: any HTTPResponder,
        logger: Logger
    ) throws {
        self.metrics = metrics
        guard settings.enabled else {
            (responder, server, observer) = (registry, nil, nil)
            return
        }
        let exposition = MetricsExposition(metrics: metrics, storage: storage, storageRefresh: settings.storageRefresh, logger: logger)
        let token = try settings.resolvedToken()
        observer = RequestMetricsObserver(metrics: metrics)
        if let host = settings.host, let port = settings.port {
            responder = registry
            var logger = logger
            logger[metadataKey: "listener"] = "metrics"
            server = HTTPServer(
                configuration: HTTPServerConfiguration(host: host, port: port),
                responder: MetricsResponder(exposition: exposition, token: token, next: nil), logger: logger)
        } else {
            responder = MetricsResponder(exposition: exposition, token: token, next: registry)
            server = nil
        }
    }
}
