import Foundation
import NIOCore
import RegistryModel
import RegistryS3
import RegistryStorage

/// Blobs and upload sessions as objects in an S3-compatible bucket, laid out by
/// ``ObjectStorageLayout``: the blob store for several registry processes sharing one bucket.
///
/// - A blob's key appears only complete: ``place(_:as:)`` assembles the session's data into it
///   on the server (CopyObject, or a multipart upload with one UploadPartCopy per segment), so a
///   session whose digest did not match leaves nothing under any blob key.
/// - A session's data is plain objects, the segments (see ``SessionData``), one per write
///   (``ObjectUploadWriter``), readable by every process: any replica can continue a session,
///   and rebuild its hash by reading it back. Every segment but the last holds at least S3's
///   minimum part size (5 MiB); a write that starts after a shorter last segment rewrites it
///   merged with the new bytes (the new object replaces it atomically), so a small chunk costs
///   at most one re-read of under 5 MiB.
/// - Nothing is ever buffered whole: reads stream ranged GETs, writes go in parts of
///   ``ObjectStorageConfiguration/partSize``.
public final class S3BlobStore: BlobStore, UploadStore {
    public let configuration: ObjectStorageConfiguration
    let client: S3Client
    private let ownsClient: Bool

    /// - Parameter client: a client to share (its configuration then wins over
    ///   `configuration.s3`); by default the store makes one, which ``shutdown()`` ends.
    public init(configuration: ObjectStorageConfiguration, client: S3Client? = nil) throws {
        self.configuration = configuration
        if let client {
            self.client = client
            ownsClient = false
        } else {
            self.client = try S3Client(configuration: configuration.s3)
            ownsClient = true
        }
    }

    /// Ends the S3 client if the store made it. Call once, after the last request.
    public func shutdown() async throws {
        if ownsClient { try await client.shutdown() }
    }

    /// A URL that lets its holder GET the blob's bytes straight from the bucket for `lifetime`
    /// (1 s to 7 days), for redirecting a client instead of streaming through the registry.
    /// Says nothing about whether the blob exists.
    public func presignedURL(for digest: Digest, expiresIn lifetime: Duration) throws -> String {
        try client.presignedGetURL(for: ObjectStorageLayout.blobKey(for: digest), lifetime: lifetime)
    }

    // MARK: BlobStore

    /// One GET, whose bytes the first whole read takes (see ``ObjectBlobReader``), opened on
    /// the event loop of the request's connection when there is one.
    public func open(_ digest: Digest) async throws -> (any BlobReader)? {
        let key = ObjectStorageLayout.blobKey(for: digest)
        guard let opening = try await client.openObject(key, on: BlobDelivery.eventLoop) else { return nil }
        return ObjectBlobReader(client: client, key: key, opening: opening)
    }

    public func size(of digest: Digest) async throws -> Int64? {
        try await client.headObject(ObjectStorageLayout.blobKey(for: digest))?.size
    }

    @discardableResult
    public func delete(_ digest: Digest) async throws -> Bool {
        let key = ObjectStorageLayout.blobKey(for: digest)
        // DeleteObject succeeds whether or not the key existed: HEAD tells.
        guard try await client.headObject(key) != nil else { return false }
        try await client.deleteObject(key)
        return true
    }

    public func delete(_ digests: [Digest]) async throws {
        try await deleteObjects(digests.map(ObjectStorageLayout.blobKey(for:)))
    }

    /// Writes and deletes a probe object: the bucket is reachable and the credentials may write.
    public func checkWritable() async throws {
        let key = ObjectStorageLayout.readinessProbeKey()
        try await client.putObject(key, body: .bytes(ByteBuffer()))
        try await client.deleteObject(key)
    }

    /// Object storage has no free-space figure to watch: this reports 4 EiB free of 4 EiB, so
    /// that no `storage.min_free` floor (a byte count below that, or a share of the size) ever
    /// makes the registry unready. A full bucket (quota) shows as failing writes instead.
    public func space() async throws -> FileSystemSpace {
        Self.unboundedSpace
    }

    public static let unboundedSpace = FileSystemSpace(availableBytes: 1 << 62, totalBytes: 1 << 62)

    /// Copies the blob to `quarantine/<algorithm>-<hex>` (replacing an earlier copy), then
    /// deletes it.
    public func quarantine(_ digest: Digest) async throws -> Bool {
        let key = ObjectStorageLayout.blobKey(for: digest)
        guard let info = try await client.headObject(key) else { return false }
        do {
            try await assemble([ObjectPiece(key: key, range: 0..<info.size)], wholeObjects: true, into: ObjectStorageLayout.quarantineKey(for: digest))
        } catch let error as S3Error where error.code == "NoSuchKey" {
            return false
        }
        try await client.deleteObject(key)
        return true
    }

    public func storedDigests() async throws -> [Digest] {
        try await listAll(prefix: ObjectStorageLayout.blobsPrefix)
            .compactMap { ObjectStorageLayout.digest(ofBlobKey: $0.key) }.sorted()
    }

    /// By the objects' `LastModified`, which a copy (``place(_:as:)``) sets to the time of the
    /// copy, like a file's ctime. It is the storage's clock, not ours: the grace period must be
    /// far longer than any skew between them. An object without one counts as young.
    public func storedDigests(changedBefore date: Date) async throws -> [Digest] {
        try await listAll(prefix: ObjectStorageLayout.blobsPrefix)
            .filter { ($0.lastModified ?? .distantFuture) < date }
            .compactMap { ObjectStorageLayout.digest(ofBlobKey: $0.key) }.sorted()
    }

    // MARK: UploadStore

    /// A write's segment appears only when the write finishes (``ObjectUploadWriter``).
    public var readsWhileWriting: Bool { false }

    public func length(of id: UploadID) async throws -> Int64? {
        let data = try await sessionData(id)
        return data.isEmpty ? nil : data.length
    }

    public func openWriter(_ id: UploadID, at offset: Int64) async throws -> any UploadWriter {
        let data = try await prepareAppend(id, at: offset)
        let writer = ObjectUploadWriter(store: self, id: id, at: offset)
        try await writer.start(after: data)
        return writer
    }

    /// One PUT: of `buffer` as a new segment, or of the short last segment merged with it.
    public func writeDurably(_ buffer: ByteBuffer, to id: UploadID, at offset: Int64) async throws {
        let data = try await prepareAppend(id, at: offset)
        if let last = data.segments.last, last.size < ObjectStorageConfiguration.minimumPartSize {
            guard buffer.readableBytes > 0 else { return }
            var merged = try await read(last.key, range: 0..<last.size, capacity: Int(last.size) + buffer.readableBytes)
            merged.writeImmutableBuffer(buffer)
            try await put(merged, at: last.key)
        } else if buffer.readableBytes > 0 || data.segments.isEmpty {
            // An empty first segment is the empty blob's data.
            try await put(buffer, at: ObjectStorageLayout.segmentKey(for: id, at: offset))
        }
    }

    public func openReader(_ id: UploadID) async throws -> any BlobReader {
        SessionDataReader(store: self, id: id, size: try await sessionData(id).length)
    }

    public func place(_ id: UploadID, as digest: Digest) async throws {
        let data = try await sessionData(id)
        guard !data.segments.isEmpty else { throw ObjectStorageError.noSessionData(id) }
        try await assemble(data.segments.map { ObjectPiece(key: $0.key, range: 0..<$0.size) }, wholeObjects: true, into: ObjectStorageLayout.blobKey(for: digest))
    }

    /// One HEAD; the assembly again when a collection removed the blob in between.
    public func confirmPlaced(_ id: UploadID, as digest: Digest) async throws {
        if try await client.headObject(ObjectStorageLayout.blobKey(for: digest)) != nil { return }
        try await place(id, as: digest)
    }

    /// Deletes the session's segments and aborts any multipart upload a writer that never
    /// finished (a crashed process) left under its prefix.
    public func remove(_ id: UploadID) async throws {
        let prefix = ObjectStorageLayout.sessionPrefix(for: id)
        try await deleteObjects(listAll(prefix: prefix).map(\.key))
        let client = self.client
        _ = try await concurrently(try await client.listMultipartUploads(prefix: prefix)) { upload in
            try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
        }
    }

    public func allSessions() async throws -> [UploadID] {
        var sessions: [UploadID] = []
        var token: String?
        repeat {
            let page = try await client.listObjectsV2(
                prefix: ObjectStorageLayout.uploadsPrefix, delimiter: "/", continuationToken: token)
            sessions += page.commonPrefixes.compactMap(ObjectStorageLayout.session(ofPrefix:))
            token = page.continuationToken
        } while token != nil
        // A session whose only trace is an unfinished multipart upload still has to be removed.
        let unfinished = try await client.listMultipartUploads(prefix: ObjectStorageLayout.uploadsPrefix).compactMap { upload in
            ObjectStorageLayout.session(ofKey: upload.key)
        }
        return Array(Set(sessions + unfinished))
    }

    // MARK: Session data

    /// The session's segments, from one listing (one request per 1,000 segments).
    func sessionData(_ id: UploadID) async throws -> SessionData {
        let prefix = ObjectStorageLayout.sessionPrefix(for: id)
        let segments = try await listAll(prefix: prefix).compactMap { object -> Segment? in
            guard let offset = ObjectStorageLayout.offset(ofSegmentName: object.key.dropFirst(prefix.count)) else { return nil }
            return Segment(key: object.key, offset: offset, size: object.size)
        }
        return SessionData(listed: segments)
    }

    /// The session's data made to end at `offset`, ready for a write there: what lies past it
    /// (bytes of a failed write, strays) is cut away first. Throws when the data is shorter.
    func prepareAppend(_ id: UploadID, at offset: Int64) async throws -> SessionData {
        let data = try await cut(sessionData(id), to: offset)
        guard data.length == offset else {
            throw ObjectStorageError.sessionDataShorter(id, offset: offset, length: data.length)
        }
        return data
    }

    /// Cuts the data back to `length`: the segments from `length` on and the strays are deleted,
    /// and a segment across `length` is replaced by its first bytes (read and put again when they
    /// fit in a part, else copied on the server). Each step leaves a valid prefix of the data (a
    /// failure half-way leaves strays, which the next cut deletes).
    func cut(_ data: SessionData, to length: Int64) async throws -> SessionData {
        let doomed = data.strays + data.segments.filter { $0.offset >= length }
        var kept = data.segments.filter { $0.offset < length }
        try await deleteObjects(doomed.map(\.key))
        if var last = kept.last, last.end > length {
            last.size = length - last.offset
            if last.size <= Int64(configuration.partSize) {
                try await put(try await read(last.key, range: 0..<last.size, capacity: Int(last.size)), at: last.key)
            } else {
                try await assemble([ObjectPiece(key: last.key, range: 0..<last.size)], wholeObjects: false, into: last.key)
            }
            kept[kept.count - 1] = last
        }
        return SessionData(listed: kept)
    }

    // MARK: Objects

    /// Stores `buffer` under `key`. Sent unsigned (`UNSIGNED-PAYLOAD`, like every streamed
    /// body): hashing megabytes for the signature would cost more CPU than the upload's own
    /// digest, and TLS protects the bytes in transit.
    func put(_ buffer: ByteBuffer, at key: String) async throws {
        try await client.putObject(key, body: .unsignedBytes(buffer))
    }

    /// Bytes `range` of an object, whole in memory: only for a segment under the part size.
    func read(_ key: String, range: Range<Int64>, capacity: Int) async throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: capacity)
        guard !range.isEmpty else { return buffer }
        guard let object = try await client.openObject(key, range: .bytes(first: range.lowerBound, last: range.upperBound - 1))?.stream()
        else {
            throw ObjectStorageError.missingObject(key: key)
        }
        for try await chunk in object.body { buffer.writeImmutableBuffer(chunk) }
        guard buffer.readableBytes == range.count else { throw ObjectStorageError.unexpectedLength(key: key) }
        return buffer
    }

    /// Makes `destination` hold the pieces' bytes one after the other, on the server: one
    /// CopyObject for a single whole object up to 5 GiB, else a multipart upload of UploadPartCopy
    /// parts (every piece but the last must hold at least 5 MiB), a few at once. The object
    /// appears only when complete (replacing what was there, which may be the source itself); a
    /// failed assembly is aborted.
    /// - Parameter wholeObjects: whether each piece is a whole object (not a part of one).
    func assemble(_ pieces: [ObjectPiece], wholeObjects: Bool, into destination: String) async throws {
        if wholeObjects, pieces.count == 1, pieces[0].key != destination,
           pieces[0].range.count <= ObjectStorageConfiguration.maximumCopySize {
            try await client.copyObject(from: pieces[0].key, to: destination)
            return
        }
        // A piece over S3's largest copy goes in several ranges.
        var parts: [ObjectPiece] = []
        for piece in pieces where !piece.range.isEmpty {
            var start = piece.range.lowerBound
            while start < piece.range.upperBound {
                let end = min(start + ObjectStorageConfiguration.maximumCopySize, piece.range.upperBound)
                parts.append(ObjectPiece(key: piece.key, range: start..<end))
                start = end
            }
        }
        guard parts.count <= ObjectStorageConfiguration.maximumParts else { throw ObjectStorageError.tooManyParts(parts.count) }
        let uploadID = try await client.createMultipartUpload(destination)
        do {
            let client = self.client
            let copied = try await concurrently(Array(parts.enumerated())) { item in
                try await client.uploadPartCopy(
                    destination, uploadID: uploadID, number: item.offset + 1, from: item.element.key,
                    range: item.element.range.lowerBound...(item.element.range.upperBound - 1))
            }
            try await client.completeMultipartUpload(destination, uploadID: uploadID, parts: copied)
        } catch {
            try? await client.abortMultipartUpload(destination, uploadID: uploadID)
            throw error
        }
    }

    /// Every object under `prefix`, following the listing's pages.
    func listAll(prefix: String) async throws -> [S3ListedObject] {
        var objects: [S3ListedObject] = []
        var token: String?
        repeat {
            let page = try await client.listObjectsV2(prefix: prefix, continuationToken: token)
            objects += page.objects
            token = page.continuationToken
        } while token != nil
        return objects
    }

    /// Deletes the keys, a thousand per request (DeleteObjects), a few requests at once;
    /// missing ones are no error.
    func deleteObjects(_ keys: [String]) async throws {
        let client = self.client
        if keys.count == 1 { return try await client.deleteObject(keys[0]) }
        let batches = stride(from: 0, to: keys.count, by: S3Client.deleteBatchLimit).map {
            Array(keys[$0..<min($0 + S3Client.deleteBatchLimit, keys.count)])
        }
        _ = try await concurrently(batches) { try await client.deleteObjects($0) }
    }

    /// `body` of every item, at most ``ObjectStorageConfiguration/requestConcurrency`` at
    /// once; the results in the items' order.
    func concurrently<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Result
    ) async throws -> [Result] {
        if items.count == 1 { return [try await body(items[0])] }
        let limit = configuration.requestConcurrency
        return try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: items.count)
            var next = 0
            while next < min(limit, items.count) {
                let (index, item) = (next, items[next])
                group.addTask { (index, try await body(item)) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index] = result
                if next < items.count {
                    let (index, item) = (next, items[next])
                    group.addTask { (index, try await body(item)) }
                    next += 1
                }
            }
            return results.map { $0! }
        }
    }
}

extension S3BlobStore: RedirectingBlobStore {
    public func redirectURL(for digest: Digest, expiresIn lifetime: Duration) throws -> String {
        try presignedURL(for: digest, expiresIn: lifetime)
    }
}
