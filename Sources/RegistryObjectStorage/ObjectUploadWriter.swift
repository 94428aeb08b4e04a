import NIOCore
import RegistryS3
import RegistryStorage

/// Writes one write's bytes (a chunk of an upload) as ONE segment object: the appended bytes
/// gather into parts of ``ObjectStorageConfiguration/partSize``, each sent as a part of a
/// multipart upload while the next fills (at most ``ObjectStorageConfiguration/partsInFlight``
/// under way), and ``finish()`` completes it. A write that fits in one part is one PutObject
/// instead. Memory stays at `partSize × (partsInFlight + 1)` whatever the size.
///
/// One object per write rather than one per part: a blob pushed in one request is then one
/// segment, which ``S3BlobStore/place(_:as:)`` makes the blob with one CopyObject, which
/// radosgw (and S3) does without moving the bytes; assembling parts with UploadPartCopy copies
/// every byte again on the server (measured on radosgw: 72 ms against 2-3 s for 256 MiB).
/// The price: the segment appears only when the write finishes, so `writtenLength` stays at the
/// write's start until then (a pull-through fetch has nothing to stream before its blob is
/// complete).
///
/// When the data ended with a segment under S3's minimum part size, the writer starts from a
/// copy of it and writes under its key, so that the new segment replaces it.
///
/// Used by one task at a time, like every `UploadWriter`.
final class ObjectUploadWriter: UploadWriter, @unchecked Sendable {
    private let store: S3BlobStore
    private let id: UploadID
    private let partSize: Int
    private let partsInFlight: Int

    /// The segment this write makes: where it starts and its key.
    private var segmentStart: Int64
    private var segmentKey: String
    /// The part being filled (at first, the copy of a short last segment).
    private var filling = ByteBuffer()
    /// Whether anything was appended since the writer started (or last finished).
    private var hasNewBytes = false
    /// The multipart upload, begun when the first part is full.
    private var multipart: (uploadID: String, parts: [S3Part], bytes: Int64)?
    private var inFlight: [Task<S3Part, any Error>] = []
    private(set) var writtenLength: Int64

    init(store: S3BlobStore, id: UploadID, at offset: Int64) {
        self.store = store
        self.id = id
        partSize = store.configuration.partSize
        partsInFlight = store.configuration.partsInFlight
        segmentStart = offset
        segmentKey = ObjectStorageLayout.segmentKey(for: id, at: offset)
        writtenLength = offset
    }

    /// Starts after `data` (which ends where this writer starts), from a copy of its last
    /// segment when that one is too short to stay a part of its own.
    func start(after data: SessionData) async throws {
        hasNewBytes = false
        multipart = nil
        writtenLength = data.length
        if let last = data.segments.last, last.size < ObjectStorageConfiguration.minimumPartSize {
            filling = try await store.read(last.key, range: 0..<last.size, capacity: partSize)
            segmentStart = last.offset
        } else {
            filling = ByteBufferAllocator().buffer(capacity: partSize)
            segmentStart = data.length
        }
        segmentKey = ObjectStorageLayout.segmentKey(for: id, at: segmentStart)
    }

    func append(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while rest.readableBytes > 0 {
            // A full part goes out only once more bytes follow it: a write of exactly one part
            // is then one PUT, not a multipart upload of one part.
            if filling.readableBytes >= partSize { try await submitPart() }
            let count = min(partSize - filling.readableBytes, rest.readableBytes)
            filling.writeImmutableBuffer(rest.readSlice(length: count)!)
            hasNewBytes = true
        }
    }

    func finish() async throws {
        guard hasNewBytes else { return }
        if multipart == nil {
            // At most one part: a single PUT.
            try await store.put(filling, at: segmentKey)
            writtenLength = segmentStart + Int64(filling.readableBytes)
            hasNewBytes = false
            if filling.readableBytes >= ObjectStorageConfiguration.minimumPartSize {
                filling = ByteBufferAllocator().buffer(capacity: partSize)
                segmentStart = writtenLength
                segmentKey = ObjectStorageLayout.segmentKey(for: id, at: segmentStart)
            }
            // Otherwise `filling` stays the copy of the new, short last segment.
            return
        }
        if filling.readableBytes > 0 { try await submitPart() }
        try await drain()
        guard let upload = multipart else { return }
        try await store.client.completeMultipartUpload(segmentKey, uploadID: upload.uploadID, parts: upload.parts)
        multipart = nil
        hasNewBytes = false
        writtenLength = segmentStart + upload.bytes
        segmentStart = writtenLength
        segmentKey = ObjectStorageLayout.segmentKey(for: id, at: segmentStart)
    }

    func truncate(to length: Int64) async throws {
        await abandon()
        try await start(after: store.prepareAppend(id, at: length))
    }

    func close() async throws {
        await abandon()
        filling = ByteBuffer()
        hasNewBytes = false
    }

    // MARK: Internals

    /// Sends the filled part, once fewer than `partsInFlight` are under way.
    private func submitPart() async throws {
        if multipart == nil {
            multipart = (try await store.client.createMultipartUpload(segmentKey), [], 0)
        }
        while inFlight.count >= partsInFlight { try await awaitOldest() }
        guard let upload = multipart else { return }
        let number = upload.parts.count + inFlight.count + 1
        guard number <= ObjectStorageConfiguration.maximumParts else { throw ObjectStorageError.tooManyParts(number) }
        let (client, key, part) = (store.client, segmentKey, filling)
        inFlight.append(Task {
            try await client.uploadPart(
                key, uploadID: upload.uploadID, number: number,
                body: .unsignedBytes(part))
        })
        multipart?.bytes += Int64(part.readableBytes)
        filling = ByteBufferAllocator().buffer(capacity: partSize)
    }

    private func awaitOldest() async throws {
        let part = try await inFlight.removeFirst().value
        multipart?.parts.append(part)
    }

    /// Waits for every part under way; throws the first failure after all have ended.
    private func drain() async throws {
        var failure: (any Error)?
        while !inFlight.isEmpty {
            do { try await awaitOldest() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Drops the write under way: waits for its parts, then aborts its multipart upload so that
    /// the bucket keeps none of it.
    private func abandon() async {
        try? await drain()
        if let upload = multipart {
            try? await store.client.abortMultipartUpload(segmentKey, uploadID: upload.uploadID)
            multipart = nil
        }
    }
}
