import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import RegistryStorage

/// An HTTP server on SwiftNIO that hands each request to an ``HTTPResponder``: HTTP/1.1 in the
/// clear, or HTTPS with HTTP/1.1 and HTTP/2 negotiated by ALPN.
///
/// Each HTTP/1.1 connection (and each HTTP/2 stream) is served by one task reading an
/// `NIOAsyncChannel`: requests on a connection run one after another, bodies stream with
/// backpressure, and responses are written straight to the channel (blobs as `FileRegion`s,
/// i.e. `sendfile`, where the transport allows it).
public final class HTTPServer: Sendable {
    public typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias Negotiated = NIONegotiatedHTTPVersion<Connection, (any Channel, NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>)>

    private let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let group: any EventLoopGroup
    private let tls: TLSContextStore?
    private let tracker = ConnectionTracker()
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)
    /// Told about every answered request (the metrics); nil for none.
    private let observer: (any HTTPRequestObserver)?

    public init(
        configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger,
        tls: TLSContextStore? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        observer: (any HTTPRequestObserver)? = nil
    ) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.tls = tls
        self.group = group
        self.observer = observer
    }

    /// Binds and serves until ``shutdown()`` (or task cancellation). `onBound` receives the
    /// bound address (useful with port 0).
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        if let tls {
            try await runSecure(tls, onBound: onBound)
        } else {
            try await runPlain(onBound: onBound)
        }
    }

    /// Stops accepting, closes idle connections, lets running requests finish within the
    /// grace period, then closes the rest.
    public func shutdown() {
        tracker.beginShutdown()
        guard let channel = listener.withLockedValue({ $0 }) else { return }
        channel.close(promise: nil)
        let tracker = self.tracker
        channel.eventLoop.scheduleTask(in: configuration.shutdownGracePeriod) {
            tracker.closeAll()
        }
    }

    // MARK: Accepting

    private var bootstrap: ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
    }

    private static let asyncConfiguration = Connection.Configuration(
        backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8))

    private func runPlain(onBound: @Sendable (SocketAddress) -> Void) async throws {
        let configuration = self.configuration
        let serverChannel = try await bootstrap.bind(host: configuration.host, port: configuration.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try Self.configureHTTP1(channel.pipeline.syncOperations, configuration: configuration)
                return try Connection(wrappingChannelSynchronously: channel, configuration: Self.asyncConfiguration)
            }
        }
        try await accept(serverChannel, onBound: onBound) { connection in
            await self.serve(connection, transport: .plain)
        }
    }

    /// HTTP/2 flow control: NIOHTTP2 grants a client 64 KiB per stream and connection, the
    /// protocol's default, so an upload stalled every 64 KiB for a window update (a monolithic
    /// 512 MiB `PUT` went from ~220 to ~350 MiB/s with 1 MiB). A stream's window is also the most
    /// a client can make the server buffer for it before its handler reads.
    static let http2WindowBytes = 1 << 20
    /// Streams a client may have open at once: with ``http2WindowBytes`` each, what bounds the
    /// unread request data one connection can make the server hold (16 MiB; NIO's default of 100
    /// streams would allow 100 MiB). Registry clients open a handful.
    static let http2MaxConcurrentStreams = 16

    static let http2Configuration: NIOHTTP2Handler.Configuration = {
        var configuration = NIOHTTP2Handler.Configuration()
        configuration.connection.initialSettings.removeAll { $0.parameter == .maxConcurrentStreams }
        configuration.connection.initialSettings.append(HTTP2Setting(parameter: .maxConcurrentStreams, value: http2MaxConcurrentStreams))
        configuration.connection.initialSettings.append(HTTP2Setting(parameter: .initialWindowSize, value: http2WindowBytes))
        configuration.connection.targetWindowSize = http2WindowBytes
        configuration.stream.targetWindowSize = http2WindowBytes
        return configuration
    }()

    private func runSecure(_ tls: TLSContextStore, onBound: @Sendable (SocketAddress) -> Void) async throws {
        let configuration = self.configuration
        let serverChannel = try await bootstrap.bind(host: configuration.host, port: configuration.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current))
            }.flatMap {
                channel.configureHTTP2AsyncSecureUpgrade(
                    http1ConnectionInitializer: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try Self.configureHTTP1(channel.pipeline.syncOperations, configuration: configuration)
                            return try Connection(wrappingChannelSynchronously: channel, configuration: Self.asyncConfiguration)
                        }
                    },
                    http2ConnectionInitializer: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            // Between TLS and HTTP/2: one TLS record per frame rather than two.
                            try pipeline.addHandler(WriteCoalescingHandler(allocator: channel.allocator))
                            let multiplexer = try pipeline.configureAsyncHTTP2Pipeline(
                                mode: .server, configuration: Self.http2Configuration
                            ) { stream in
                                stream.eventLoop.makeCompletedFuture {
                                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                    return try Connection(wrappingChannelSynchronously: stream, configuration: Self.asyncConfiguration)
                                }
                            }
                            return (channel, multiplexer)
                        }
                    })
            }
        }
        try await accept(serverChannel, onBound: onBound) { (negotiation: EventLoopFuture<Negotiated>) in
            do {
                switch try await negotiation.get() {
                case .http1_1(let connection):
                    await self.serve(connection, transport: .tls)
                case .http2(let (channel, multiplexer)):
                    await self.serveHTTP2(channel, streams: multiplexer)
                }
            } catch {
                self.logger.debug("TLS handshake or negotiation failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Runs the accept loop: one child task per accepted connection.
    private func accept<Accepted: Sendable>(
        _ serverChannel: NIOAsyncChannel<Accepted, Never>, onBound: @Sendable (SocketAddress) -> Void,
        serve: @escaping @Sendable (Accepted) async -> Void
    ) async throws {
        listener.withLockedValue { $0 = serverChannel.channel }
        if let address = serverChannel.channel.localAddress { onBound(address) }
        logger.info("listening", metadata: [
            "address": "\(serverChannel.channel.localAddress.map { "\($0)" } ?? "?")",
            "tls": "\(tls != nil)",
        ])
        try await withThrowingDiscardingTaskGroup { group in
            try await withTaskCancellationHandler {
                try await serverChannel.executeThenClose { accepted in
                    for try await connection in accepted {
                        group.addTask { await serve(connection) }
                    }
                }
            } onCancel: {
                self.shutdown()
            }
        }
    }

    static func configureHTTP1(
        _ pipeline: ChannelPipeline.SynchronousOperations, configuration: HTTPServerConfiguration
    ) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldCount = configuration.maxHeaderFieldCount
        limits.maxHeaderListSize = configuration.maxHeaderListSize
        limits.maxHeaderFieldSize = configuration.maxHeaderListSize
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: true,
            withOutboundHeaderValidation: true,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits)
        try pipeline.addHandler(ConnectionTimeoutHandler(timeout: configuration.idleTimeout))
    }

    // MARK: Serving

    /// How a request reached us, which decides how a response may be written.
    enum Transport {
        /// HTTP/1.1 in the clear: blobs go out with `sendfile`.
        case plain
        /// HTTP/1.1 over TLS: blobs are read and encrypted in chunks.
        case tls
        /// One HTTP/2 stream: one request, chunked blobs, no connection-level headers.
        case http2Stream(parent: any Channel)

        var allowsSendfile: Bool { if case .plain = self { true } else { false } }
        var isHTTP2: Bool { if case .http2Stream = self { true } else { false } }
    }

    /// Largest unread request body read and thrown away to keep a connection open.
    static let maxDiscardedBodyBytes = 8 * 1024 * 1024

    private func serveHTTP2(_ channel: any Channel, streams: NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>) async {
        guard tracker.add(channel) else {
            try? await channel.close()
            return
        }
        defer { tracker.remove(channel) }
        let identity = await clientIdentity(on: channel)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                for try await stream in streams.inbound {
                    group.addTask { await self.serve(stream, transport: .http2Stream(parent: channel), identity: identity) }
                }
            }
        } catch {
            logger.debug("HTTP/2 connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    private func clientIdentity(on channel: any Channel) async -> String? {
        guard tls?.settings.clientCAPath != nil else { return nil }
        return await ClientCertificate.commonName(on: channel)
    }

    private func serve(_ connection: Connection, transport: Transport, identity knownIdentity: String? = nil) async {
        let channel = connection.channel
        let tracked: any Channel
        switch transport {
        case .http2Stream(let parent):
            tracked = parent
        case .plain, .tls:
            tracked = channel
            guard tracker.add(channel) else {
                try? await channel.close()
                return
            }
        }
        defer { if !transport.isHTTP2 { tracker.remove(channel) } }
        var identity = knownIdentity
        if case .tls = transport { identity = await clientIdentity(on: channel) }
        do {
            try await connection.executeThenClose { inbound, _ in
                let reader = InboundRequestReader(iterator: inbound.makeAsyncIterator())
                let writer = ResponseWriter(channel: channel, transport: transport)
                while let head = try await reader.nextHead(onExpectContinue: writer.writeContinue(version:)) {
                    guard tracker.beginRequest(on: tracked) else { break }
                    // An object store opens a pulled blob's GET on this connection's event loop.
                    let next = try await BlobDelivery.$eventLoop.withValue(channel.eventLoop) {
                        try await serveRequest(
                            head: head, reader: reader, writer: writer,
                            remote: (transport.isHTTP2 ? tracked : channel).remoteAddress, identity: identity)
                    }
                    tracker.endRequest(on: tracked)
                    if next == .lingerThenClose && !transport.isHTTP2 {
                        await lingeringClose(channel, reader: reader)
                    }
                    if next != .keepOpen || transport.isHTTP2 || tracker.isShuttingDown { break }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// What becomes of an HTTP/1.1 connection once a response is written.
    enum AfterResponse {
        /// The request was read to its end: the connection carries the next one.
        case keepOpen
        /// The client or the server asked to close, with the request read to its end.
        case close
        /// The answer went out before the request's body was read (too large to read for
        /// nothing, or never sent because the client awaits `100 Continue`): output closed,
        /// see ``HTTPServer/lingeringClose(_:reader:)``.
        case lingerThenClose
    }

    /// Longest time a lingering close keeps reading after the answer.
    static let lingerDuration = TimeAmount.seconds(2)
    /// Most bytes a lingering close reads and drops before closing.
    static let lingerBytes = 16 * 1024 * 1024

    /// Serves one request; returns what becomes of the connection.
    ///
    /// A response waits for the rest of an unread body only when that is cheap (within
    /// ``maxDiscardedBodyBytes``): then the connection stays usable, and a client that writes
    /// its whole body before reading (most do) sees the answer. A body declared larger, or one
    /// the client holds back until `100 Continue`, is not waited for: a client that waits for
    /// the answer before sending (a 413 for a 100 MiB manifest, say) would otherwise hang until
    /// the idle timeout. That answer goes out at once, with `Connection: close`.
    private func serveRequest(
        head: HTTPRequestHead, reader: InboundRequestReader, writer: ResponseWriter, remote: SocketAddress?,
        identity: String?
    ) async throws -> AfterResponse {
        let start = ContinuousClock.now
        let request = Request(
            head: head, body: RequestBody(source: reader), clientCertificateName: identity, remoteAddress: remote?.ipAddress)
        var response = await responder.respond(to: request)
        let bodyDone = reader.answerCannotWaitForBody(limit: Self.maxDiscardedBodyBytes)
            ? false
            : await reader.discardRemainingBody(limit: Self.maxDiscardedBodyBytes)
        let keepAlive = head.isKeepAlive && bodyDone && !tracker.isShuttingDown
        let bytes = response.bodyLength
        do {
            try await writer.write(&response, for: head, keepAlive: keepAlive, closingOutputOnly: !bodyDone)
        } catch {
            logAccess(head, status: response.status, bytes: 0, start: start, remote: remote, error: error)
            observer?.requestFinished(
                method: head.method, path: request.path, status: response.status, responseBodyBytes: 0,
                duration: ContinuousClock.now - start)
            throw error
        }
        logAccess(head, status: response.status, bytes: head.method == .HEAD ? 0 : bytes, start: start, remote: remote, error: nil)
        observer?.requestFinished(
            method: head.method, path: request.path, status: response.status, responseBodyBytes: head.method == .HEAD ? 0 : bytes,
            duration: ContinuousClock.now - start)
        if keepAlive { return .keepOpen }
        return bodyDone ? .close : .lingerThenClose
    }

    /// Ends a connection whose client may still be sending a body nobody reads, after the
    /// answer was written and the output closed (FIN): reads and drops what arrives, until the
    /// client closes, ``lingerBytes`` went by, or ``lingerDuration`` passed. Closing at once
    /// with unread bytes makes the kernel send a reset, which can destroy the answer in the
    /// client's buffers before it reads it (RFC 9112 §9.6).
    private func lingeringClose(_ channel: any Channel, reader: InboundRequestReader) async {
        let deadline = channel.eventLoop.scheduleTask(in: Self.lingerDuration) {
            channel.close(promise: nil)
        }
        await reader.drainForLingeringClose(limit: Self.lingerBytes)
        deadline.cancel()
    }

    private func logAccess(
        _ head: HTTPRequestHead, status: HTTPResponseStatus, bytes: Int64, start: ContinuousClock.Instant,
        remote: SocketAddress?, error: (any Error)?
    ) {
        // Building the metadata costs more than the rest of a small request's bookkeeping.
        guard logger.logLevel <= .info else { return }
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(head.method.rawValue)",
            "path": "\(head.uri)",
            "status": "\(status.code)",
            "bytes": "\(bytes)",
            "duration_ms": "\((milliseconds * 1000).rounded() / 1000)",
            "user_agent": "\(head.headers.first(name: "user-agent") ?? "-")",
        ]
        if let remote { metadata["remote"] = "\(remote.ipAddress ?? "?")" }
        if let error { metadata["error"] = "\(error)" }
        logger.info("request", metadata: metadata)
    }
}
