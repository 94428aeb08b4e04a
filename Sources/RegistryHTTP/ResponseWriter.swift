import NIOCore
import NIOHTTP1

/// Writes responses straight to the channel, batching the parts of one response into a single
/// event-loop hop and waiting until the last part is written (which bounds memory and keeps a
/// blob's file open exactly as long as `sendfile` needs it).
struct ResponseWriter: Sendable {
    let channel: any Channel

    /// The header every registry response carries.
    static let apiVersionHeader = ("Docker-Distribution-API-Version", "registry/2.0")

    func writeContinue(version: HTTPVersion) {
        channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: .continue)), promise: nil)
    }

    func write(_ response: inout Response, for request: HTTPRequestHead, keepAlive: Bool) async throws {
        var headers = response.headers
        headers.add(name: Self.apiVersionHeader.0, value: Self.apiVersionHeader.1)
        if !headers.contains(name: "content-length") {
            headers.add(name: "Content-Length", value: "\(response.bodyLength)")
        }
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if request.version == .http1_0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        let head = HTTPServerResponsePart.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))
        let sendsBody = request.method != .HEAD && response.status != .notModified && response.status != .noContent

        switch response.body {
        case .empty:
            try await writeParts([head], keepAlive: keepAlive)
        case .buffer(let buffer):
            try await writeParts(sendsBody ? [head, .body(.byteBuffer(buffer))] : [head], keepAlive: keepAlive)
        case .blob(let reader, let range):
            guard sendsBody, !range.isEmpty else {
                try? await reader.close()
                try await writeParts([head], keepAlive: keepAlive)
                return
            }
            let fileHandle: NIOFileHandle
            do {
                fileHandle = try reader.takeFileHandleForSendfile()
            } catch {
                try? await reader.close()
                throw error
            }
            let region = FileRegion(fileHandle: fileHandle, readerIndex: Int(range.lowerBound), endIndex: Int(range.upperBound))
            defer { try? fileHandle.close() }
            try await writeParts([head, .body(.fileRegion(region))], keepAlive: keepAlive)
        }
    }

    private func writeParts(_ parts: [HTTPServerResponsePart], keepAlive: Bool) async throws {
        let channel = self.channel
        let done = channel.eventLoop.makePromise(of: Void.self)
        channel.eventLoop.execute {
            for part in parts {
                channel.write(part, promise: nil)
            }
            channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: done)
        }
        try await done.futureResult.get()
        if !keepAlive {
            try? await channel.close()
        }
    }
}
