import NIOCore
import NIOFileSystem

/// The bytes of a blob range as a sequence of buffers, read on demand: each `next()` performs
/// one read, so a slow consumer slows the reads down instead of piling data up in memory.
public struct BlobChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let chunks: FileChunks

    init(_ chunks: FileChunks) {
        self.chunks = chunks
    }

    /// The buffers of any other source (a blob store that is not a file system), one per `next()`.
    public init<Chunks: AsyncSequence & Sendable>(wrapping chunks: Chunks) where Chunks.Element == ByteBuffer {
        self.chunks = FileChunks(wrapping: chunks)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: chunks.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        var base: FileChunks.AsyncIterator

        public mutating func next() async throws -> ByteBuffer? {
            try await base.next()
        }
    }
}
