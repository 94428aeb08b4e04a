import NIOCore
import NIOHTTP1

/// The body of the request being served, read part by part from the connection.
///
/// Reading pulls from the channel's inbound stream, so the socket is read only as fast as the
/// handler consumes (backpressure). The first read answers `Expect: 100-continue`. Belongs to
/// the connection's task and must not be used after the handler returns.
public struct RequestBody: AsyncSequence {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    let source: InboundRequestReader

    public func makeAsyncIterator() -> Iterator {
        Iterator(source: source)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let source: InboundRequestReader

        public mutating func next() async throws -> ByteBuffer? {
            try await source.nextBodyPart()
        }
    }

    /// Collects the whole body, failing with `tooLarge` beyond `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await part in self {
            guard result.readableBytes + part.readableBytes <= limit else { throw BodyError.tooLarge }
            result.writeImmutableBuffer(part)
        }
        return result
    }
}

public enum BodyError: Error {
    case tooLarge
    /// The client closed the connection before the body ended.
    case clientDisconnected
}

/// Owns the connection's inbound iterator and hands out request heads and body parts in order.
final class InboundRequestReader {
    private var iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    private(set) var isBodyFinished = true
    private var continueWriter: (() -> Void)?

    init(iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator) {
        self.iterator = iterator
    }

    /// The next request head, or nil when the client closed the connection.
    func nextHead(onExpectContinue: @escaping (HTTPVersion) -> Void) async throws -> HTTPRequestHead? {
        precondition(isBodyFinished, "the previous request's body was not read to its end")
        while let part = try await iterator.next() {
            guard case .head(let head) = part else { continue }
            isBodyFinished = false
            let expectsContinue = head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
            continueWriter = expectsContinue ? { onExpectContinue(head.version) } : nil
            return head
        }
        return nil
    }

    /// Reads and discards what is left of a body the handler did not read, up to `limit` bytes,
    /// so the connection can be reused. False when the body is larger, or when the client is
    /// still waiting for `100 Continue` (it would then send a body nobody wants): close instead.
    func discardRemainingBody(limit: Int) async -> Bool {
        guard !isBodyFinished else { return true }
        guard continueWriter == nil else { return false }
        var discarded = 0
        do {
            while let part = try await nextBodyPart() {
                discarded += part.readableBytes
                if discarded > limit { return false }
            }
            return true
        } catch {
            return false
        }
    }

    func nextBodyPart() async throws -> ByteBuffer? {
        guard !isBodyFinished else { return nil }
        if let writeContinue = continueWriter {
            continueWriter = nil
            writeContinue()
        }
        while true {
            switch try await iterator.next() {
            case .body(let buffer):
                return buffer
            case .end:
                isBodyFinished = true
                return nil
            case .head, nil:
                throw BodyError.clientDisconnected
            }
        }
    }
}
