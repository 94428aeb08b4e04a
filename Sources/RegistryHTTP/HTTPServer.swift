import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 server on SwiftNIO that hands each request to an ``HTTPResponder``.
///
/// Each connection is served by one task reading an `NIOAsyncChannel`: requests on a
/// connection run one after another, bodies stream with backpressure, and responses are
/// written straight to the channel (blobs as `FileRegion`s, i.e. `sendfile`).
public final class HTTPServer: Sendable {
    public typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    private let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    private let logger: Logger
    private let group: any EventLoopGroup
    private let tracker = ConnectionTracker()
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)

    public init(
        configuration: HTTPServerConfiguration, responder: any HTTPResponder, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.responder = responder
        self.logger = logger
        self.group = group
    }

    /// Binds and serves until ``shutdown()`` (or task cancellation). `onBound` receives the
    /// bound address (useful with port 0).
    public func run(onBound: @Sendable (SocketAddress) -> Void = { _ in }) async throws {
        let configuration = self.configuration
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configurePipeline(channel.pipeline.syncOperations, configuration: configuration)
                    return try Connection(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8)))
                }
            }
        listener.withLockedValue { $0 = serverChannel.channel }
        if let address = serverChannel.channel.localAddress { onBound(address) }
        logger.info("listening", metadata: ["address": "\(serverChannel.channel.localAddress.map { "\($0)" } ?? "?")"])

        try await withThrowingDiscardingTaskGroup { group in
            try await withTaskCancellationHandler {
                try await serverChannel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            } onCancel: {
                self.shutdown()
            }
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

    static func configurePipeline(
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

    /// Largest unread request body read and thrown away to keep a connection open.
    static let maxDiscardedBodyBytes = 8 * 1024 * 1024

    private func serve(_ connection: Connection) async {
        let channel = connection.channel
        guard tracker.add(channel) else {
            try? await channel.close()
            return
        }
        defer { tracker.remove(channel) }
        do {
            try await connection.executeThenClose { inbound, _ in
                let reader = InboundRequestReader(iterator: inbound.makeAsyncIterator())
                let writer = ResponseWriter(channel: channel)
                while let head = try await reader.nextHead(onExpectContinue: writer.writeContinue(version:)) {
                    guard tracker.beginRequest(on: channel) else { break }
                    let keepAlive = try await serveRequest(head: head, reader: reader, writer: writer, remote: channel.remoteAddress)
                    tracker.endRequest(on: channel)
                    if !keepAlive || tracker.isShuttingDown { break }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// Serves one request; returns whether the connection may carry another.
    private func serveRequest(
        head: HTTPRequestHead, reader: InboundRequestReader, writer: ResponseWriter, remote: SocketAddress?
    ) async throws -> Bool {
        let start = ContinuousClock.now
        let request = Request(head: head, body: RequestBody(source: reader))
        var response = await responder.respond(to: request)
        // Discarding a modest unread body keeps the connection usable, and lets a client that
        // writes its whole body before reading (most do) see the answer; a larger one is not
        // worth receiving: close instead.
        let bodyDone = await reader.discardRemainingBody(limit: Self.maxDiscardedBodyBytes)
        let keepAlive = head.isKeepAlive && bodyDone && !tracker.isShuttingDown
        let bytes = response.bodyLength
        do {
            try await writer.write(&response, for: head, keepAlive: keepAlive)
        } catch {
            logAccess(head, status: response.status, bytes: 0, start: start, remote: remote, error: error)
            throw error
        }
        logAccess(head, status: response.status, bytes: head.method == .HEAD ? 0 : bytes, start: start, remote: remote, error: nil)
        return keepAlive
    }

    private func logAccess(
        _ head: HTTPRequestHead, status: HTTPResponseStatus, bytes: Int64, start: ContinuousClock.Instant,
        remote: SocketAddress?, error: (any Error)?
    ) {
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
