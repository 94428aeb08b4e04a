import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP receiver of event notifications on 127.0.0.1 (HTTPS with a TLS context):
/// records every request's headers and body, and answers as told: `200`, a refusal status, or
/// never (a receiver that hangs). It can be closed and started again on the same port (a
/// receiver that is down for a while).
final class EventReceiver: Sendable {
    enum Behaviour: Sendable {
        case accept
        case refuse(HTTPResponseStatus)
        /// Reads the request and never answers.
        case hang
    }

    struct Delivery: Sendable {
        var headers: HTTPHeaders
        var body: [UInt8]

        func header(_ name: String) -> String? { headers.first(name: name) }

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw ReceiverError.notJSON(String(decoding: body, as: UTF8.self))
            }
            return object
        }

        var data: [String: Any] { ((try? json())?["data"] as? [String: Any]) ?? [:] }
        var type: String { ((try? json())?["type"] as? String) ?? "" }
    }

    enum ReceiverError: Error { case notJSON(String), timedOut(String) }

    private struct State {
        var behaviour: Behaviour = .accept
        var deliveries: [Delivery] = []
        /// Requests answered with a refusal (or left hanging).
        var refused = 0
        var channel: (any Channel)?
        var port = 0
        /// TCP connections accepted (a TLS handshake the client gives up on counts too).
        var connections = 0
    }

    private let state = NIOLockedValueBox(State())
    private let tls: NIOSSLContext?

    private init(tls: NIOSSLContext?) {
        self.tls = tls
    }

    var port: Int { state.withLockedValue { $0.port } }
    var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)/hook" }
    var connections: Int { state.withLockedValue { $0.connections } }

    /// Starts on an OS-picked port (or `port`), speaking HTTPS when given a TLS context.
    static func start(port: Int = 0, behaviour: Behaviour = .accept, tls: NIOSSLContext? = nil) async throws -> EventReceiver {
        let receiver = EventReceiver(tls: tls)
        receiver.behaviour = behaviour
        let channel = try await bind(port: port, receiver)
        receiver.state.withLockedValue {
            $0.channel = channel
            $0.port = channel.localAddress?.port ?? port
        }
        return receiver
    }

    var behaviour: Behaviour {
        get { state.withLockedValue { $0.behaviour } }
        set { state.withLockedValue { $0.behaviour = newValue } }
    }

    /// What was accepted (answered `200`), in arrival order.
    var deliveries: [Delivery] { state.withLockedValue { $0.deliveries } }
    var refused: Int { state.withLockedValue { $0.refused } }

    /// Stops listening (connections are refused until ``reopen()``).
    func close() async {
        let channel = state.withLockedValue { state in
            defer { state.channel = nil }
            return state.channel
        }
        try? await channel?.close()
    }

    /// Listens again on the same port.
    func reopen() async throws {
        let channel = try await Self.bind(port: port, self)
        state.withLockedValue { $0.channel = channel }
    }

    /// Waits until at least `count` deliveries were accepted. The default timeout is long on
    /// purpose: the registry under test shares its process with the whole parallel suite, and
    /// CI once saw an event that arrives at once on an idle machine still missing after 20 s.
    /// A passing test returns as soon as its deliveries arrive.
    @discardableResult
    func waitForDeliveries(_ count: Int, within timeout: Duration = .seconds(60)) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let deliveries = self.deliveries
            if deliveries.count >= count { return deliveries }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ReceiverError.timedOut("expected \(count) deliveries, got \(deliveries.count): \(deliveries.map(\.type))")
    }

    // MARK: Server

    private static func bind(port: Int, _ receiver: EventReceiver) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                receiver.state.withLockedValue { $0.connections += 1 }
                do {
                    if let tls = receiver.tls { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                } catch {
                    return child.eventLoop.makeFailedFuture(error)
                }
                return child.pipeline.configureHTTPServerPipeline().flatMap {
                    child.pipeline.addHandler(Handler(receiver: receiver))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
    }

    /// Decides the answer to a complete request, recording it when accepted.
    fileprivate func answer(headers: HTTPHeaders, body: [UInt8]) -> Behaviour {
        state.withLockedValue { state in
            switch state.behaviour {
            case .accept: state.deliveries.append(Delivery(headers: headers, body: body))
            case .refuse, .hang: state.refused += 1
            }
            return state.behaviour
        }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let receiver: EventReceiver
        var headers = HTTPHeaders()
        var body: [UInt8] = []

        init(receiver: EventReceiver) { self.receiver = receiver }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                headers = head.headers
                body = []
            case .body(let buffer):
                body += buffer.readableBytesView
            case .end:
                let behaviour = receiver.answer(headers: headers, body: body)
                let status: HTTPResponseStatus
                switch behaviour {
                case .hang: return
                case .accept: status = .ok
                case .refuse(let refusal): status = refusal
                }
                let head = HTTPResponseHead(version: .http1_1, status: status, headers: ["Content-Length": "0"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
