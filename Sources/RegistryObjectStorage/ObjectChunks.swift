import NIOCore
import Synchronization
import RegistryS3
import RegistryStorage

/// The bytes of a run of object ranges, read with one ranged GET per range, streamed: buffers
/// are handed out as the network delivers them, in chunks of at most `chunkSize` bytes (large
/// reads sliced), small reads gathered up to ``gatheredBytes`` only. Passing the network's
/// buffers on rather than copying them into chunk-sized ones halves the CPU a streamed pull
/// costs (measured: a megabyte buffer is a fresh mmap under the registry's malloc tuning, so
/// each copy also paid its page faults). The first GET goes out at the first
/// `next()`; a consumer that stops pulling stops the transfer through TCP's flow control, so at
/// most a chunk and the sockets' buffers are held whatever the blob's size.
struct ObjectChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    /// Network reads smaller than this are gathered into one chunk, so that a slow trickle
    /// does not become many tiny writes.
    static let gatheredBytes = 64 << 10

    let client: S3Client
    let chunkSize: Int
    /// The first piece's GET, already answered, when the caller started it (see
    /// ``ObjectBlobReader``). Its body can be read once, so a sequence given one is to be
    /// iterated once (as every blob read is).
    var firstResponse: S3ObjectStream? = nil
    /// Finds the pieces when the sequence is first read (a session's segments are listed then).
    let pieces: @Sendable () async throws -> [ObjectPiece]

    func makeAsyncIterator() -> Iterator {
        Iterator(client: client, chunkSize: Swift.max(1, chunkSize), resolve: pieces, firstResponse: firstResponse)
    }

    struct Iterator: AsyncIteratorProtocol {
        let client: S3Client
        let chunkSize: Int
        let resolve: @Sendable () async throws -> [ObjectPiece]
        var firstResponse: S3ObjectStream?
        var pieces: [ObjectPiece]?
        var nextPiece = 0
        var body: S3ObjectBody.AsyncIterator?
        /// Bytes of the current piece still to arrive.
        var remaining: Int64 = 0
        var current: ObjectPiece?
        /// What was left of the last network buffer after a chunk was cut from it.
        var carry: ByteBuffer?

        mutating func next() async throws -> ByteBuffer? {
            var chunk: ByteBuffer?
            let enough = Swift.min(chunkSize, ObjectChunks.gatheredBytes)
            while (chunk?.readableBytes ?? 0) < enough, var received = try await nextBuffer() {
                let wanted = chunkSize - (chunk?.readableBytes ?? 0)
                if received.readableBytes > wanted {
                    carry = received.getSlice(at: received.readerIndex + wanted, length: received.readableBytes - wanted)
                    received = received.getSlice(at: received.readerIndex, length: wanted)!
                }
                if chunk == nil {
                    chunk = received
                } else {
                    chunk!.writeImmutableBuffer(received)
                }
            }
            return chunk
        }

        /// The next buffer from the network (or the carried rest of the last one), moving on to
        /// the next piece when one ends; nil after the last piece.
        private mutating func nextBuffer() async throws -> ByteBuffer? {
            if let rest = carry {
                carry = nil
                return rest
            }
            while true {
                if var iterator = body {
                    let buffer = try await iterator.next()
                    body = iterator
                    if let buffer, buffer.readableBytes > 0 {
                        remaining -= Int64(buffer.readableBytes)
                        guard remaining >= 0 else { throw ObjectStorageError.unexpectedLength(key: current?.key ?? "") }
                        return buffer
                    }
                    if buffer != nil { continue }
                    body = nil
                    guard remaining == 0 else { throw ObjectStorageError.unexpectedLength(key: current?.key ?? "") }
                    continue
                }
                if pieces == nil { pieces = try await resolve() }
                guard let all = pieces, nextPiece < all.count else { return nil }
                let piece = all[nextPiece]
                nextPiece += 1
                guard !piece.range.isEmpty else { continue }
                var object = firstResponse
                firstResponse = nil
                if object == nil {
                    // Read through a delivery: the network is read up to a megabyte ahead of
                    // this task, instead of one buffer at a time with a thread hand-over each.
                    object = try await client.openObject(
                        piece.key, range: .bytes(first: piece.range.lowerBound, last: piece.range.upperBound - 1)
                    )?.stream()
                }
                guard let object else { throw ObjectStorageError.missingObject(key: piece.key) }
                guard object.contentLength == Int64(piece.range.count) else {
                    throw ObjectStorageError.unexpectedLength(key: piece.key)
                }
                current = piece
                remaining = object.contentLength
                body = object.body.makeAsyncIterator()
            }
        }
    }
}

/// A stored blob: one object. There is no file to hand to `sendfile`.
///
/// The blob is opened with a GET of the whole object, whose answer gives the size (no HEAD
/// first) and whose bytes serve the first read of the whole blob, the usual pull: one round
/// trip to the store per download. That GET is opened on the event loop of the request's
/// connection (``BlobDelivery``), and a pull takes its bytes there (``deliver(_:to:)``), from
/// one socket to the other with no thread woken between them. Any other range is a ranged GET
/// of its own (the opening GET is then dropped, which closes its connection).
final class ObjectBlobReader: BlobReader {
    let size: Int64
    var supportsSendfile: Bool { false }
    private let client: S3Client
    private let key: String
    private let opening: Mutex<S3ObjectDelivery?>

    init(client: S3Client, key: String, opening: S3ObjectDelivery) {
        self.client = client
        self.key = key
        self.size = opening.contentLength
        self.opening = Mutex(opening)
    }

    func deliver(_ range: Range<Int64>, to sink: any BlobSink) async throws -> Int64? {
        guard range == 0..<size, let opened = takeOpening() else { return nil }
        let sinkLoop = sink.eventLoop
        let deliveryLoop = opened.eventLoop
        return try await opened.deliver { buffer in
            // Opened elsewhere (no BlobDelivery hint): the write hops over, the answer back.
            sinkLoop === deliveryLoop ? sink.write(buffer) : sink.write(buffer).hop(to: deliveryLoop)
        }.get()
    }

    func chunks(in range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        let opened = range == 0..<size ? takeOpening() : nil
        if opened == nil { takeOpening()?.cancel() }
        let piece = ObjectPiece(key: key, range: range)
        return BlobChunks(wrapping: ObjectChunks(client: client, chunkSize: chunkSize, firstResponse: opened?.stream(), pieces: { [piece] }))
    }

    func takeFileHandleForSendfile() throws -> NIOFileHandle {
        throw ObjectStorageError.noFileHandle
    }

    /// Drops the opening GET if no read took it.
    func close() async throws {
        takeOpening()?.cancel()
    }

    private func takeOpening() -> S3ObjectDelivery? {
        opening.withLock { opening in
            defer { opening = nil }
            return opening
        }
    }
}

/// A session's data, read across its segments. The segments are listed when a range is first
/// read, not when the reader opens, so that a reader opened before (or while) the data is
/// written sees what was written by then, as an open file would.
final class SessionDataReader: BlobReader {
    /// The data's length when the reader was opened.
    let size: Int64
    var supportsSendfile: Bool { false }
    private let store: S3BlobStore
    private let id: UploadID

    init(store: S3BlobStore, id: UploadID, size: Int64) {
        self.store = store
        self.id = id
        self.size = size
    }

    func chunks(in range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        let (store, id) = (store, id)
        return BlobChunks(wrapping: ObjectChunks(client: store.client, chunkSize: chunkSize) {
            try await store.sessionData(id).pieces(covering: range)
        })
    }

    func takeFileHandleForSendfile() throws -> NIOFileHandle {
        throw ObjectStorageError.noFileHandle
    }

    func close() async throws {}
}
