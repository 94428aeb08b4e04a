import Logging
import NIOConcurrencyHelpers

/// Keeps the access log of a test registry in memory: one (method, path, status) per request.
final class AccessLogRecorder: Sendable {
    private let entries = NIOLockedValueBox([(method: String, path: String, status: String)]())

    var requests: [(method: String, path: String, status: String)] { entries.withLockedValue { $0 } }

    /// Requests with this method whose path ends with `suffix` that were answered 200 (not the
    /// 401s that start a token flow).
    func count(_ method: String, pathEndingWith suffix: String) -> Int {
        requests.filter { $0.method == method && $0.path.hasSuffix(suffix) && $0.status == "200" }.count
    }

    func makeHandler() -> @Sendable (String) -> any LogHandler {
        { _ in
            RecordingLogHandler(level: .info) { event in
                guard event.message.description == "request", let metadata = event.metadata,
                      let method = metadata["method"], let path = metadata["path"], let status = metadata["status"]
                else { return }
                self.record(method.description, path.description, status.description)
            }
        }
    }

    private func record(_ method: String, _ path: String, _ status: String) {
        entries.withLockedValue { $0.append((method, path, status)) }
    }
}
