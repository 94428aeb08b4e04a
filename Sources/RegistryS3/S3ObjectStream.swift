import NIOCore

/// A GetObject response: the object's (or range's) metadata, and its bytes as they arrive.
/// Read `body` to the end, or drop it to abandon the transfer.
public struct S3ObjectStream: Sendable {
    /// Bytes in `body`: the whole object's size, or the range's.
    public var contentLength: Int64
    public var etag: String?
    public var contentType: String?
    /// For a range: which bytes these are and the object's whole size.
    public var contentRange: S3ContentRange?
    public var body: S3ObjectBody
}

/// `Content-Range: bytes first-last/size`.
public struct S3ContentRange: Sendable, Equatable {
    public var first: Int64
    public var last: Int64
    public var objectSize: Int64

    public init(first: Int64, last: Int64, objectSize: Int64) {
        self.first = first
        self.last = last
        self.objectSize = objectSize
    }

    init?(header: String) {
        guard header.hasPrefix("bytes ") else { return nil }
        let parts = header.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let size = Int64(parts[1]) else { return nil }
        let bounds = parts[0].split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]) else { return nil }
        self.first = first
        self.last = last
        self.objectSize = size
    }
}

/// An object's bytes, as buffers in the order they arrive from the network, read from a
/// delivery (``S3ObjectDelivery/body(readAhead:)``) that keeps reading ahead of the task.
public struct S3ObjectBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    private let stream: AsyncThrowingStream<ByteBuffer, any Error>
    private let window: ReadAheadWindow
    /// Keeps the GET alive while the body is read (a released delivery cancels it).
    private let owner: S3ObjectDelivery

    init(stream: AsyncThrowingStream<ByteBuffer, any Error>, window: ReadAheadWindow, owner: S3ObjectDelivery) {
        self.stream = stream
        self.window = window
        self.owner = owner
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
        fileprivate let window: ReadAheadWindow
        fileprivate let owner: S3ObjectDelivery

        public mutating func next() async throws -> ByteBuffer? {
            let buffer = try await base.next()
            if let buffer { window.read(buffer.readableBytes) }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), window: window, owner: owner)
    }

    /// All bytes in one buffer, for small objects; throws `NIOTooManyBytesError` past `maxBytes`.
    public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var buffer in self {
            guard all.readableBytes + buffer.readableBytes <= maxBytes else { throw NIOTooManyBytesError(maxBytes: maxBytes) }
            all.writeBuffer(&buffer)
        }
        return all
    }
}
