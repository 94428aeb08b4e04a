import AsyncHTTPClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// A GetObject whose body is handed on by AsyncHTTPClient's delegate interface, on the event
/// loop of the connection it arrives on, to one consumer: the registry's own connection to its
/// client (``deliver(to:)``), or a task reading it as an `AsyncSequence` (``body``).
///
/// Why not `HTTPClientResponse.Body`: it reads one network buffer ahead and then waits for the
/// consuming task to ask for the next, so every 64 KiB of a pull cost two thread wake-ups and the
/// two sockets took turns (measured: a third of a streamed pull's CPU was the scheduler). Here
/// the next read starts as soon as a consumer has taken a buffer, and when the GET was opened on
/// the consumer's own event loop (``S3Client/openObject(_:range:on:)``) no thread is woken at all.
///
/// Until a consumer comes, the first buffer is held and the connection is not read further.
/// A delivery nobody consumes is cancelled by ``cancel()`` (or when it is released), which
/// closes its connection.
public final class S3ObjectDelivery: Sendable {
    /// Bytes in the body: the whole object's size, or the range's.
    public let contentLength: Int64
    public let etag: String?
    public let contentType: String?
    public let contentRange: S3ContentRange?
    /// Where the consumer is called.
    public var eventLoop: any EventLoop { receiver.eventLoop }

    let receiver: DeliveryReceiver
    private let task: HTTPClient.Task<Void>

    init(head: HTTPResponseHead, receiver: DeliveryReceiver, task: HTTPClient.Task<Void>) throws {
        guard let length = head.headers.first(name: "content-length").flatMap(Int64.init) else {
            throw S3ClientError.invalidResponse(operation: "GetObject", reason: "no Content-Length")
        }
        contentLength = length
        etag = head.headers.first(name: "etag")
        contentType = head.headers.first(name: "content-type")
        contentRange = head.headers.first(name: "content-range").flatMap(S3ContentRange.init(header:))
        self.receiver = receiver
        self.task = task
    }

    deinit {
        task.cancel()
    }

    /// Hands every byte of the body to `consumer`, in order and on ``eventLoop``, taking the next
    /// network buffer once the future the consumer returned for the previous one has succeeded
    /// (a failed one cancels the GET). Completes with the bytes delivered once the body ended
    /// and fails if it ended short of ``contentLength``. Call once.
    public func deliver(to consumer: @escaping @Sendable (ByteBuffer) -> EventLoopFuture<Void>) -> EventLoopFuture<Int64> {
        let (receiver, expected) = (receiver, contentLength)
        return receiver.eventLoop.flatSubmit {
            receiver.attach(consumer)
        }.flatMapThrowing { delivered in
            guard delivered == expected else {
                throw S3ClientError.invalidResponse(operation: "GetObject", reason: "\(delivered) of \(expected) bytes")
            }
            return delivered
        }
    }

    /// The body as buffers for a task to read, with up to `readAhead` bytes taken from the
    /// network before the task asks for them. Read it to the end, or ``cancel()``.
    public func body(readAhead: Int = 1 << 20) -> S3ObjectBody {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let window = ReadAheadWindow(limit: readAhead, eventLoop: eventLoop)
        deliver { buffer in
            continuation.yield(buffer)
            return window.took(buffer.readableBytes)
        }.whenComplete { result in
            window.close()
            switch result {
            case .success: continuation.finish()
            case .failure(let error): continuation.finish(throwing: error)
            }
        }
        return S3ObjectBody(stream: stream, window: window, owner: self)
    }

    /// The delivery as a GetObject response whose body a task reads (``body(readAhead:)``).
    public func stream(readAhead: Int = 1 << 20) -> S3ObjectStream {
        S3ObjectStream(contentLength: contentLength, etag: etag, contentType: contentType, contentRange: contentRange, body: body(readAhead: readAhead))
    }

    /// Abandons the body: the GET is cancelled and its connection closed.
    public func cancel() {
        task.cancel()
    }
}

/// The bytes a task has not yet read from a delivery's ``S3ObjectDelivery/body(readAhead:)``:
/// the network is read on while they stay under the limit.
final class ReadAheadWindow: Sendable {
    private struct State {
        var bytes = 0
        var waiting: EventLoopPromise<Void>?
    }
    private let state = NIOLockedValueBox(State())
    let limit: Int
    let eventLoop: any EventLoop

    init(limit: Int, eventLoop: any EventLoop) {
        self.limit = limit
        self.eventLoop = eventLoop
    }

    /// A buffer went to the reader: the future completes once there is room for more.
    func took(_ count: Int) -> EventLoopFuture<Void> {
        state.withLockedValue { state in
            state.bytes += count
            guard state.bytes > limit else { return eventLoop.makeSucceededVoidFuture() }
            let promise = eventLoop.makePromise(of: Void.self)
            state.waiting = promise
            return promise.futureResult
        }
    }

    /// The body ended: nothing waits for room any more.
    func close() {
        state.withLockedValue { state in
            defer { state.waiting = nil }
            return state.waiting
        }?.succeed()
    }

    /// The reader read `count` bytes.
    func read(_ count: Int) {
        let resumed = state.withLockedValue { state -> EventLoopPromise<Void>? in
            state.bytes -= count
            guard state.bytes <= limit / 2, let waiting = state.waiting else { return nil }
            state.waiting = nil
            return waiting
        }
        resumed?.succeed()
    }
}

/// The delegate of a delivery's GET. Every call comes on `eventLoop`, which owns the state.
final class DeliveryReceiver: HTTPClientResponseDelegate, @unchecked Sendable {
    typealias Response = Void

    let eventLoop: any EventLoop
    let head: EventLoopPromise<(HTTPResponseHead, errorBody: ByteBuffer?)>
    private let success: Set<UInt>
    private var failedHead: HTTPResponseHead?
    private var errorBody: ByteBuffer?
    private var consumer: (@Sendable (ByteBuffer) -> EventLoopFuture<Void>)?
    /// The first buffer, held until a consumer comes, and the future AsyncHTTPClient waits on.
    private var held: (buffer: ByteBuffer, resume: EventLoopPromise<Void>)?
    private var delivered: Int64 = 0
    /// How the body ended, until a consumer comes to be told.
    private var outcome: Result<Int64, any Error>?
    /// Made when a consumer comes, so that no promise is left unfulfilled without one.
    private var done: EventLoopPromise<Int64>?
    // A promise completed twice keeps its first result (NIO ignores the second), which is what
    // `didReceiveError` after a reported head relies on.

    init(eventLoop: any EventLoop, success: Set<UInt>) {
        self.eventLoop = eventLoop
        self.success = success
        head = eventLoop.makePromise()
    }

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        if success.contains(head.status.code) {
            self.head.succeed((head, nil))
        } else {
            // The error document follows; the head is reported with it when the body ends.
            failedHead = head
        }
        return eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        if failedHead != nil {
            var buffer = buffer
            if (errorBody?.readableBytes ?? 0) < S3Client.errorBodyLimit {
                errorBody.setOrWriteBuffer(&buffer)
            }
            return eventLoop.makeSucceededVoidFuture()
        }
        delivered += Int64(buffer.readableBytes)
        if let consumer { return consumer(buffer) }
        let resume = eventLoop.makePromise(of: Void.self)
        held = (buffer, resume)
        return resume.futureResult
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        if let failedHead {
            head.succeed((failedHead, errorBody ?? ByteBuffer()))
            return
        }
        end(.success(delivered))
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        head.fail(error)
        held?.resume.fail(error)
        held = nil
        end(.failure(error))
    }

    private func end(_ result: Result<Int64, any Error>) {
        if let done { done.completeWith(result) } else { outcome = result }
    }

    /// Starts handing the body to `consumer`, the held buffer first. Returns the bytes
    /// delivered once the body ended.
    func attach(_ consumer: @escaping @Sendable (ByteBuffer) -> EventLoopFuture<Void>) -> EventLoopFuture<Int64> {
        eventLoop.preconditionInEventLoop()
        precondition(self.consumer == nil, "a delivery is consumed once")
        self.consumer = consumer
        let done = eventLoop.makePromise(of: Int64.self)
        if let outcome {
            done.completeWith(outcome)
        } else {
            self.done = done
        }
        if let (buffer, resume) = held {
            held = nil
            consumer(buffer).cascade(to: resume)
        }
        return done.futureResult
    }
}
