import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// Posts one event body to an endpoint: CloudEvents structured mode, the endpoint's headers,
/// and the signature when it has a secret. Any `2xx` is a delivery; anything else (another
/// status, no answer within the endpoint's timeout, no connection) throws.
struct WebhookSender: Sendable {
    let client: HTTPClient

    func send(_ body: ByteBuffer, to endpoint: EventEndpoint) async throws(EventDeliveryError) {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: CloudEventEncoder.contentType)
        request.headers.add(name: "User-Agent", value: "swift-oci-registry-events")
        for (name, value) in endpoint.headers.sorted(by: { $0.key < $1.key }) {
            request.headers.add(name: name, value: value)
        }
        if let secret = endpoint.secret {
            request.headers.add(name: EventSignature.headerName, value: EventSignature.value(for: body, secret: secret))
        }
        request.body = .bytes(body)
        request.tlsConfiguration = endpoint.tlsConfiguration
        let status: HTTPResponseStatus
        do {
            let deadline = NIODeadline.now() + timeAmount(endpoint.timeout)
            let response = try await client.execute(request, deadline: deadline)
            status = response.status
            // Read (and drop) what the receiver says, so the connection can be reused.
            _ = try await response.body.collect(upTo: 64 << 10)
        } catch {
            throw .unreachable("\(error)")
        }
        guard (200..<300).contains(Int(status.code)) else { throw .refused(status: Int(status.code)) }
    }
}

/// Why one delivery attempt failed.
public enum EventDeliveryError: Error, Equatable, CustomStringConvertible {
    /// The receiver answered with a status outside `2xx`.
    case refused(status: Int)
    /// No answer: connection refused or reset, TLS failure, or the timeout passed.
    case unreachable(String)

    public var description: String {
        switch self {
        case .refused(let status): "the endpoint answered \(status)"
        case .unreachable(let reason): "the endpoint could not be reached: \(reason)"
        }
    }
}

private func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
}
