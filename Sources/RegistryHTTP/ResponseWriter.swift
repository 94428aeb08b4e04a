import NIOCore
import NIOHTTP1
import RegistryStorage

/// Writes responses straight to the channel. Small responses go out in a single event-loop hop;
/// blobs go out as a `FileRegion` (`sendfile`) where the transport allows it, otherwise in
/// chunks read from disk, each written before the next is read, so memory stays bounded.
struct ResponseWriter: Sendable {
    let channel: any Channel
    let transport: HTTPServer.Transport

    /// The header every registry response carries.
    static let apiVersionHeader = ("Docker-Distribution-API-Version", "registry/2.0")
    /// Read size for blobs that cannot be sent with `sendfile` (TLS, HTTP/2).
    static let blobChunkBytes = 1 << 20

    func writeContinue(version: HTTPVersion) {
        channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: .continue)), promise: nil)
    }

    func write(_ response: inout Response, for request: HTTPRequestHead, keepAlive: Bool) async throws {
        var headers = response.headers
        headers.add(name: Self.apiVersionHeader.0, value: Self.apiVersionHeader.1)
        if !headers.contains(name: "content-length") {
            headers.add(name: "Content-Length", value: "\(response.bodyLength)")
        }
        if !transport.isHTTP2 {
            // HTTP/2 forbids connection-specific headers.
            if !keepAlive {
                headers.replaceOrAdd(name: "Connection", value: "close")
            } else if request.version == .http1_0 {
                headers.replaceOrAdd(name: "Connection", value: "keep-alive")
            }
        }
        let head = HTTPServerResponsePart.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))
        let sendsBody = request.method != .HEAD && response.status != .notModified && response.status != .noContent
        let closeAfterwards = !keepAlive && !transport.isHTTP2

        switch response.body {
        case .empty:
            try await writeParts([head], end: true)
        case .buffer(let buffer):
            try await writeParts(sendsBody ? [head, .body(.byteBuffer(buffer))] : [head], end: true)
        case .blob(let reader, let range):
            guard sendsBody, !range.isEmpty else {
                try? await reader.close()
                try await writeParts([head], end: true)
                break
            }
            if transport.allowsSendfile {
                let fileHandle: NIOFileHandle
                do {
                    fileHandle = try reader.takeFileHandleForSendfile()
                } catch {
                    try? await reader.close()
                    throw error
                }
                defer { try? fileHandle.close() }
                let region = FileRegion(fileHandle: fileHandle, readerIndex: Int(range.lowerBound), endIndex: Int(range.upperBound))
                try await writeParts([head, .body(.fileRegion(region))], end: true)
            } else {
                do {
                    try await writeParts([head], end: false)
                    var sent: Int64 = 0
                    for try await chunk in reader.chunks(in: range, chunkSize: Self.blobChunkBytes) {
                        try await writeParts([.body(.byteBuffer(chunk))], end: false)
                        sent += Int64(chunk.readableBytes)
                    }
                    // A blob file shorter than its recorded size must not end as a complete response.
                    guard sent == Int64(range.count) else { throw StorageError.truncatedFile(expected: Int64(range.count), found: sent) }
                    try await writeParts([], end: true)
                } catch {
                    try? await reader.close()
                    throw error
                }
                try await reader.close()
            }
        case .arriving(let stream):
            defer { stream.close() }
            guard sendsBody, !stream.range.isEmpty else {
                try await writeParts([head], end: true)
                break
            }
            // A failure mid-way (the upstream broke off, or its bytes did not match the digest)
            // ends the connection without the last bytes: the client never sees a whole body.
            try await writeParts([head], end: false)
            for try await chunk in stream {
                try await writeParts([.body(.byteBuffer(chunk))], end: false)
            }
            try await writeParts([], end: true)
        }
        if closeAfterwards {
            try? await channel.close()
        }
    }

    /// Writes `parts` (and `.end` when asked) in one event-loop hop and waits until they are
    /// written, which bounds buffered data to one part.
    private func writeParts(_ parts: [HTTPServerResponsePart], end: Bool) async throws {
        let channel = self.channel
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            if end {
                for part in parts { channel.write(part, promise: nil) }
                channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: done)
            } else if let last = parts.last {
                for part in parts.dropLast() { channel.write(part, promise: nil) }
                channel.writeAndFlush(last, promise: done)
            } else {
                done.succeed()
            }
        }
        try await done.futureResult.get()
    }
}
