import NIOCore
import NIOHTTP1
import NIOPosix

/// A whole HTTP response, body included (the bodies here are small: errors, JSON, manifests).
struct BenchResponse {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// One keep-alive HTTP/1.1 connection used for one request after another, by one task.
final class SequentialConnection {
    private let target: Target
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator

    private init(
        target: Target, outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    ) {
        self.target = target
        self.outbound = outbound
        self.inbound = inbound
    }

    /// Opens a connection to `target`, runs `body` with it and closes it.
    static func with<Result>(
        _ target: Target, group: any EventLoopGroup, _ body: (SequentialConnection) async throws -> Result
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let connection = SequentialConnection(target: target, outbound: outbound, inbound: inbound.makeAsyncIterator())
            return try await body(connection)
        }
    }

    /// Opens one connection to each target, runs `body` with them (in the targets' order) and
    /// closes them.
    static func with<Result>(
        _ targets: [Target], group: any EventLoopGroup, _ body: ([SequentialConnection]) async throws -> Result
    ) async throws -> Result {
        guard let first = targets.first else { return try await body([]) }
        return try await with(first, group: group) { connection in
            try await with(Array(targets.dropFirst()), group: group) { others in
                try await body([connection] + others)
            }
        }
    }

    /// Sends a request and reads its whole response; fails unless the status is `expected`.
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ByteBuffer? = nil,
        expect expected: HTTPResponseStatus
    ) async throws -> BenchResponse {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: target.hostHeader)
        head.headers.add(contentsOf: headers)
        if let body {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else if method == .PUT || method == .POST || method == .PATCH {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        try await outbound.write(.head(head))
        if let body { try await outbound.write(.body(.byteBuffer(body))) }
        try await outbound.write(.end(nil))

        var response: BenchResponse?
        while let part = try await inbound.next() {
            switch part {
            case .head(let head):
                response = BenchResponse(status: head.status, headers: head.headers, body: ByteBuffer())
            case .body(var chunk):
                response?.body.writeBuffer(&chunk)
            case .end:
                guard let response else { throw BenchFailure("\(method) \(path): no response head") }
                guard response.status == expected else {
                    let text = String(buffer: response.body).prefix(300)
                    throw BenchFailure("\(method) \(path): expected \(expected.code), got \(response.status.code) \(text)")
                }
                return response
            }
        }
        throw BenchFailure("\(method) \(path): the server closed the connection")
    }

    /// Starts an upload and returns the path of its `Location`.
    func startUpload(_ repository: String) async throws -> String {
        let response = try await send(.POST, "/v2/\(repository)/blobs/uploads/", expect: .accepted)
        guard let location = response.headers.first(name: "Location") else {
            throw BenchFailure("POST /v2/\(repository)/blobs/uploads/: no Location")
        }
        return target.path(ofLocation: location)
    }

    /// Pushes a small blob the way most clients do: `POST`, then `PUT` with the body and digest,
    /// the `PUT` on `finisher` if given (another replica of a cluster: no sticky sessions).
    func pushBlob(_ repository: String, _ blob: Blob, finishingOn finisher: SequentialConnection? = nil) async throws {
        let location = try await startUpload(repository)
        let separator = location.contains("?") ? "&" : "?"
        try await (finisher ?? self).send(
            .PUT, location + separator + "digest=" + blob.digest,
            headers: [("Content-Type", "application/octet-stream")], body: blob.bytes, expect: .created
        )
    }

    /// Links an existing blob into `repository` with a cross-repository mount.
    func mountBlob(_ digest: String, from source: String, into repository: String) async throws {
        try await send(.POST, "/v2/\(repository)/blobs/uploads/?mount=\(digest)&from=\(source)", expect: .created)
    }

    func putManifest(_ repository: String, _ reference: String, _ manifest: ByteBuffer) async throws {
        try await send(
            .PUT, "/v2/\(repository)/manifests/\(reference)",
            headers: [("Content-Type", Blob.manifestMediaType)], body: manifest, expect: .created
        )
    }
}
