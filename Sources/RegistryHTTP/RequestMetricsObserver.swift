import NIOHTTP1
import RegistryCore

/// Counts each answered request in ``RegistryMetrics``: its route kind, method and status class,
/// its latency, and the blob bytes it served.
public struct RequestMetricsObserver: HTTPRequestObserver {
    let metrics: RegistryMetrics

    public init(metrics: RegistryMetrics) {
        self.metrics = metrics
    }

    public func requestFinished(
        method: HTTPMethod, path: String, status: HTTPResponseStatus, responseBodyBytes: Int64, duration: Duration
    ) {
        metrics.requestFinished(
            route: RequestRoute(path: path), method: RequestMethod(method.rawValue), status: Int(status.code),
            duration: duration, responseBodyBytes: responseBodyBytes,
            // Parsed only when the metrics are per repository.
            repository: Route(path: path)?.repositoryName)
    }
}

extension Route {
    /// The repository a route names, as the client wrote it.
    var repositoryName: String? {
        switch self {
        case .blob(let name, _), .startUpload(let name), .upload(let name, _), .manifest(let name, _), .tags(let name),
             .referrers(let name, _), .adminRepository(let name):
            name
        default:
            nil
        }
    }
}
