import NIOCore
import NIOHTTP1
import RegistryStorage

/// Writes responses straight to the channel. Small responses go out in a single event-loop hop;
/// blobs go out as a `FileRegion` (`sendfile`) where the transport allows it, otherwise in
/// chunks read from disk with a bounded number of writes in flight (see ``writeBlobChunks``).
struct ResponseWriter: Sendable {
    let channel: any Channel
    let transport: HTTPServer.Transport

    /// The header every registry response carries.
    static let apiVersionHeader = ("Docker-Distribution-API-Version", "registry/2.0")
    /// Read size for blobs that cannot be sent with `sendfile` (TLS, HTTP/2).
    static let blobChunkBytes = 1 << 20
    /// Bytes of chunk writes outstanding while the next chunk is read: one file chunk. It keeps
    /// the disk read and the encryption and socket write overlapped (the socket's buffer holds
    /// megabytes, so the client is not starved while the next chunk is handed over); with more,
    /// each flush finds TLS's ciphertext buffer still queued on the socket and allocates a new
    /// one, whose page faults cost more than the overlap gains. Smaller chunks (an object
    /// store's network reads) get as many writes in flight as fit, so that the pipeline does
    /// not shrink to one small buffer.
    static let blobBytesInFlight = blobChunkBytes

    func writeContinue(version: HTTPVersion) {
        channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: .continue)), promise: nil)
    }

    /// Writes `response`. Without `keepAlive`, an HTTP/1.1 connection is closed afterwards; with
    /// `closingOutputOnly`, only its output (a FIN, for a lingering close by the caller).
    func write(
        _ response: inout Response, for request: HTTPRequestHead, keepAlive: Bool, closingOutputOnly: Bool = false
    ) async throws {
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
            if transport.allowsSendfile && reader.supportsSendfile {
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
                    let sink = ChannelBlobSink(channel: channel, bytesInFlight: Self.blobBytesInFlight)
                    // Straight from an object store's socket where it can; otherwise in chunks.
                    let sent: Int64
                    if let delivered = try await reader.deliver(range, to: sink) {
                        sent = delivered
                    } else {
                        sent = try await writeBlobChunks(reader.chunks(in: range, chunkSize: Self.blobChunkBytes))
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
            try? await channel.close(mode: closingOutputOnly ? .output : .all)
        }
    }

    /// Writes a blob's chunks, reading the next one while up to ``blobBytesInFlight`` (at least
    /// one chunk) are on their way to the kernel: the disk read, the encryption (on the event loop, as the write is
    /// flushed) and the socket write of successive chunks overlap, instead of a chunk being read
    /// only once the previous one was written. Memory stays bounded to a few chunks whatever the
    /// blob's size. Returns the bytes written.
    private func writeBlobChunks(_ chunks: BlobChunks) async throws -> Int64 {
        let channel = self.channel
        var inFlight = CircularBuffer<(write: EventLoopFuture<Void>, bytes: Int)>()
        var bytesInFlight = 0
        var sent: Int64 = 0
        for try await chunk in chunks {
            sent += Int64(chunk.readableBytes)
            while let oldest = inFlight.first, bytesInFlight + chunk.readableBytes > Self.blobBytesInFlight {
                try await oldest.write.get()
                bytesInFlight -= oldest.bytes
                inFlight.removeFirst()
            }
            inFlight.append((channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(chunk))), chunk.readableBytes))
            bytesInFlight += chunk.readableBytes
        }
        for entry in inFlight { try await entry.write.get() }
        return sent
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
