import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import RegistryS3
import Synchronization
import Testing

/// Retries, against a loopback HTTP server that fails the first requests on purpose the way an
/// overloaded gateway does (`503 SlowDown`) or drops the connection: no gateway needed.
struct S3RetryTests {
    @Test func bytesBodyIsRetriedAfterSlowDownAndSucceeds() async throws {
        try await FailingServer.with(failures: 2, how: .slowDown) { server, client in
            let etag = try await client.putObject("k", body: .bytes(ByteBuffer(string: "hello")))
            #expect(etag == "\"etag\"")
            #expect(server.requests == 3)
        }
    }

    @Test func unsignedBytesBodyIsRetriedAfterADroppedConnection() async throws {
        try await FailingServer.with(failures: 1, how: .closeConnection) { server, client in
            try await client.putObject("k", body: .unsignedBytes(ByteBuffer(repeating: 7, count: 100_000)))
            #expect(server.requests == 2)
            #expect(server.lastBodyLength == 100_000)
        }
    }

    @Test func streamedBodyIsNotRetried() async throws {
        try await FailingServer.with(failures: 1, how: .slowDown) { server, client in
            let stream = AsyncStream<ByteBuffer> { continuation in
                continuation.yield(ByteBuffer(string: "once"))
                continuation.finish()
            }
            await #expect(throws: S3Error.self) {
                try await client.putObject("k", body: .stream(stream, length: 4))
            }
            #expect(server.requests == 1)
        }
    }

    @Test func retriesStopAfterThePolicysAttempts() async throws {
        try await FailingServer.with(failures: 100, how: .slowDown) { server, client in
            let error = await #expect(throws: S3Error.self) {
                try await client.deleteObject("k")
            }
            #expect(error?.code == "SlowDown")
            #expect(error?.status == 503)
            #expect(server.requests == S3RetryPolicy.standard.attempts)
        }
    }

    @Test func refusalIsNotRetried() async throws {
        try await FailingServer.with(failures: 100, how: .forbidden) { server, client in
            await #expect(throws: S3Error.self) {
                try await client.deleteObject("k")
            }
            #expect(server.requests == 1)
        }
    }
}

/// A loopback HTTP server that fails its first `failures` requests, then answers 200 with an
/// ETag; it counts the requests it saw.
final class FailingServer: Sendable {
    enum Failure: Sendable { case slowDown, forbidden, closeConnection }

    private let state: Mutex<(requests: Int, lastBodyLength: Int)> = Mutex((0, 0))
    let failures: Int
    let failure: Failure

    var requests: Int { state.withLock { $0.requests } }
    var lastBodyLength: Int { state.withLock { $0.lastBodyLength } }

    init(failures: Int, failure: Failure) {
        self.failures = failures
        self.failure = failure
    }

    /// Starts a server, runs `body` with a client of it (retries with short pauses), stops both.
    static func with(
        failures: Int, how failure: Failure, _ body: (FailingServer, S3Client) async throws -> Void
    ) async throws {
        let server = FailingServer(failures: failures, failure: failure)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try S3Client(configuration: S3Configuration(
            endpoint: "http://127.0.0.1:\(channel.localAddress!.port!)", region: "us-east-1", bucket: "retry-test",
            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"),
            retries: S3RetryPolicy(attempts: S3RetryPolicy.standard.attempts, firstDelay: .milliseconds(5))))
        do {
            try await body(server, client)
        } catch {
            try? await client.shutdown()
            try? await channel.close()
            throw error
        }
        try await client.shutdown()
        try await channel.close()
    }

    /// Counts a finished request; returns whether it is to fail.
    fileprivate func record(bodyLength: Int) -> Bool {
        state.withLock { state in
            state.requests += 1
            state.lastBodyLength = bodyLength
            return state.requests <= failures
        }
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: FailingServer
        var bodyLength = 0

        init(server: FailingServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: bodyLength = 0
            case .body(let buffer): bodyLength += buffer.readableBytes
            case .end:
                let fails = server.record(bodyLength: bodyLength)
                guard fails else { return respond(context, .ok, headers: [("ETag", "\"etag\"")], body: "") }
                switch server.failure {
                case .closeConnection:
                    context.close(promise: nil)
                case .slowDown:
                    respond(context, .serviceUnavailable, headers: [], body: Self.error("SlowDown"))
                case .forbidden:
                    respond(context, .forbidden, headers: [], body: Self.error("AccessDenied"))
                }
            }
        }

        static func error(_ code: String) -> String {
            "<?xml version=\"1.0\"?><Error><Code>\(code)</Code><Message>on purpose</Message></Error>"
        }

        private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, headers: [(String, String)], body: String) {
            var head = HTTPResponseHead(version: .http1_1, status: status)
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            head.headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
