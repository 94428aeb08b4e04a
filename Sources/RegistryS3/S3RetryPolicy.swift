import AsyncHTTPClient
import NIOCore
import NIOPosix

/// Which failed requests are sent again, and after how long. S3 services answer `503 SlowDown`
/// or `500 InternalError` under load, and pooled connections are closed by the far end between
/// requests; each is worth another try after a short pause that doubles, with jitter, so that
/// replicas retrying together spread out. A request whose body was a stream read once is never
/// sent again (its bytes are gone); every other request is, including PUTs and DELETEs, which
/// S3 makes idempotent.
public struct S3RetryPolicy: Sendable, Equatable {
    /// Tries in all, the first included: 1 means no retry.
    public var attempts: Int
    /// The pause before the second try; it doubles for each further one.
    public var firstDelay: Duration

    public init(attempts: Int, firstDelay: Duration) {
        self.attempts = max(1, attempts)
        self.firstDelay = firstDelay
    }

    /// 4 tries over about 0.35 s.
    public static let standard = S3RetryPolicy(attempts: 4, firstDelay: .milliseconds(50))
    public static let never = S3RetryPolicy(attempts: 1, firstDelay: .zero)

    /// The pause before try `attempt` (2 for the first retry): the doubled delay, between half
    /// and all of it.
    func delay(before attempt: Int) -> Duration {
        let full = firstDelay * (1 << min(attempt - 2, 16))
        return full * Double.random(in: 0.5...1)
    }

    /// Whether `error` is worth another try: a server-side failure or a dropped connection,
    /// not a refusal (4xx), a bad response or a cancellation.
    static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case let error as S3Error:
            return error.status >= 500 || error.code == "SlowDown" || error.code == "RequestTimeout"
        case let error as HTTPClientError:
            return [.remoteConnectionClosed, .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded].contains(error)
        case is IOError, is NIOConnectionError, is ChannelError:
            return true
        default:
            return false
        }
    }
}
