import NIOCore
import NIOHTTP1
import RegistryModel

/// The body of the request being served: read part by part from the connection, or handed
/// over whole as buffers (a request built in memory, e.g. by a test).
///
/// Reading a connection's body pulls from the channel's inbound stream, so the socket is read
/// only as fast as the handler consumes (backpressure). The first read answers
/// `Expect: 100-continue`. Belongs to the connection's task and must not be used after the
/// handler returns.
public struct RequestBody: AsyncSequence {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    /// Where the parts come from.
    enum Source {
        case connection(InboundRequestReader)
        case buffers([ByteBuffer])
    }

    let source: Source

    init(source: InboundRequestReader) {
        self.source = .connection(source)
    }

    /// A body made of `buffers`, in order: for requests built without a connection.
    public init(buffers: [ByteBuffer]) {
        source = .buffers(buffers)
    }

    /// A body of `bytes`.
    public init(bytes: some Sequence<UInt8>) {
        self.init(buffers: [ByteBuffer(bytes: Array(bytes))])
    }

    /// No body at all.
    public static var empty: RequestBody { RequestBody(buffers: []) }

    public func makeAsyncIterator() -> Iterator {
        Iterator(source: source)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let source: Source
        private var nextIndex = 0

        init(source: Source) {
            self.source = source
        }

        public mutating func next() async throws -> ByteBuffer? {
            switch source {
            case .connection(let reader):
                return try await reader.nextBodyPart()
            case .buffers(let buffers):
                guard nextIndex < buffers.count else { return nil }
                defer { nextIndex += 1 }
                return buffers[nextIndex]
            }
        }
    }

    /// Collects the whole body, failing with `tooLarge` beyond `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await part in self {
            guard part.readableBytes <= limit - result.readableBytes else { throw BodyError.tooLarge }
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
    /// The current request's `Content-Length`, if it declared one.
    private var declaredBodyLength: Int64?
    /// Bytes of the current request's body read so far.
    private var bodyBytesRead: Int64 = 0

    init(iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator) {
        self.iterator = iterator
    }

    /// The next request head, or nil when the client closed the connection.
    func nextHead(onExpectContinue: @escaping (HTTPVersion) -> Void) async throws -> HTTPRequestHead? {
        precondition(isBodyFinished, "the previous request's body was not read to its end")
        while let part = try await iterator.next() {
            guard case .head(let head) = part else { continue }
            isBodyFinished = false
            bodyBytesRead = 0
            declaredBodyLength = head.headers.first(name: "content-length").flatMap { DecimalNumber($0)?.saturated }
            let expectsContinue = head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
            continueWriter = expectsContinue ? { onExpectContinue(head.version) } : nil
            return head
        }
        return nil
    }

    /// Whether reading the rest of the body before answering would hold the answer back: the
    /// client still waits for `100 Continue` (it sends nothing until told to), or its
    /// `Content-Length` says more than `limit` bytes are still to come. Then the answer goes out
    /// at once and the connection is closed, rather than read for nothing (or for ever).
    func answerCannotWaitForBody(limit: Int) -> Bool {
        guard !isBodyFinished else { return false }
        if continueWriter != nil { return true }
        guard let declaredBodyLength else { return false }
        return declaredBodyLength - min(bodyBytesRead, declaredBodyLength) > Int64(limit)
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

    /// The second half of a lingering close, after the answer was written and the output
    /// closed: reads and drops what the client still sends, until it closes or `limit` bytes
    /// went by, so that its unread bytes do not make our kernel answer with a reset that could
    /// destroy the response before the client reads it. The caller bounds the time (by closing
    /// the channel). Nothing read here is a request any more.
    func drainForLingeringClose(limit: Int) async {
        var drained = 0
        continueWriter = nil
        do {
            while drained <= limit, let part = try await iterator.next() {
                if case .body(let buffer) = part { drained += buffer.readableBytes }
            }
        } catch {
            // The client reset or broke off: nothing left to drain.
        }
        isBodyFinished = true
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
                bodyBytesRead += Int64(buffer.readableBytes)
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
