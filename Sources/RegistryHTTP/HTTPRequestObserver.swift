import NIOHTTP1

/// Told about every request an ``HTTPServer`` answered, once its response is written (or failed
/// to be): what the metrics count. Called on the request's task, so it must be quick.
public protocol HTTPRequestObserver: Sendable {
    /// `path` is the request target without its query; `responseBodyBytes` what was sent of the
    /// body (0 for `HEAD`, or when writing failed); `duration` from the head's arrival to the end.
    func requestFinished(
        method: HTTPMethod, path: String, status: HTTPResponseStatus, responseBodyBytes: Int64, duration: Duration)
}
