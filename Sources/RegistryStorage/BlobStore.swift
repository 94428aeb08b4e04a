import Foundation
import NIOCore
import RegistryModel

/// Content-addressed blob bytes. One copy per digest for the whole registry; which repository
/// may read which blob is the metadata store's business, not this one's.
public protocol BlobStore: Sendable {
    /// Opens a blob for reading, or returns `nil` when no blob with that digest is stored.
    func open(_ digest: Digest) async throws -> (any BlobReader)?

    /// Size of a stored blob, or `nil`.
    func size(of digest: Digest) async throws -> Int64?

    /// Removes a blob's bytes. Returns whether anything was removed.
    @discardableResult
    func delete(_ digest: Digest) async throws -> Bool

    /// Removes many blobs' bytes at once (garbage collection); missing ones are no error.
    func delete(_ digests: [Digest]) async throws

    /// Whether the store can create files (for readiness checks).
    func checkWritable() async throws

    /// Size and free space of the file system the store writes to (for readiness checks).
    func space() async throws -> FileSystemSpace

    /// Moves a blob's bytes aside (kept for inspection, never served). Returns whether there
    /// was anything to move.
    @discardableResult
    func quarantine(_ digest: Digest) async throws -> Bool

    /// Every digest that has bytes in the store (for scrubbing: files no record owns).
    func storedDigests() async throws -> [Digest]

    /// The stored digests whose files were last written, linked or moved before `date` (for
    /// garbage collection: files no record owns, left by a crash, once past the grace period).
    func storedDigests(changedBefore date: Date) async throws -> [Digest]
}

extension BlobStore {
    /// Removes, or moves aside, the files of blobs whose records are gone.
    public func dispose(_ tombstones: [BlobTombstone]) async throws {
        try await delete(tombstones.filter { !$0.quarantine }.map(\.digest))
        for tombstone in tombstones where tombstone.quarantine {
            try await quarantine(tombstone.digest)
        }
    }
}

/// A blob store whose blobs a client can fetch from the storage itself (an object store's
/// presigned URLs), so that the registry answers a download with a redirect instead of the bytes.
public protocol RedirectingBlobStore: BlobStore {
    /// A URL that serves the blob's bytes (ranges too) to whoever holds it, for `lifetime`.
    func redirectURL(for digest: Digest, expiresIn lifetime: Duration) throws -> String
}

/// An opened blob. The holder must either call ``close()`` or take the descriptor with
/// ``takeFileHandleForSendfile()``.
public protocol BlobReader: Sendable {
    var size: Int64 { get }
    /// Whether ``takeFileHandleForSendfile()`` can give a file: false for a blob that is not a
    /// local file (object storage), which is then always read with ``chunks(in:chunkSize:)``.
    var supportsSendfile: Bool { get }
    /// Reads `range` in chunks of at most `chunkSize` bytes, one read per `next()` (nothing is
    /// read ahead). The reader stays open: close it when done.
    func chunks(in range: Range<Int64>, chunkSize: Int) -> BlobChunks
    /// Sends the bytes of `range` to `sink` as they come from the store, where the store can do
    /// that (``BlobSink``); returns how many it sent, or nil when it cannot (then read
    /// ``chunks(in:chunkSize:)``). The reader stays open: close it when done.
    func deliver(_ range: Range<Int64>, to sink: any BlobSink) async throws -> Int64?
    /// Gives up the open file as a `NIOFileHandle`, for a zero-copy `FileRegion`. The caller
    /// owns and closes the handle; after this call ``close()`` does nothing.
    func takeFileHandleForSendfile() throws -> NIOFileHandle
    func close() async throws
}

/// Writes the bytes of one upload session. Implementations must make nothing visible under a
/// digest until ``UploadStore/commit(_:as:)`` succeeds.
///
/// A session's data file is created by its first write, so opening a session costs no file work.
public protocol UploadStore: Sendable {
    /// Whether a reader of a session's data (``openReader(_:)``) sees bytes a writer appends
    /// while it writes (a file does), or only once the write is finished (an object store's
    /// objects appear whole). A pull-through cache streams arriving blobs only in the first case.
    var readsWhileWriting: Bool { get }

    /// Current length of the session's data, or `nil` when nothing was written yet.
    func length(of id: UploadID) async throws -> Int64?
    /// Opens the session's data for appending at `offset` (its current length), creating it
    /// when needed.
    func openWriter(_ id: UploadID, at offset: Int64) async throws -> any UploadWriter
    /// Writes `buffer` at `offset` and flushes it to stable storage in one step (open, write,
    /// sync, close): the path of small chunks, which would otherwise pay for four round trips to
    /// the I/O threads. On failure the data is cut back to `offset`.
    func writeDurably(_ buffer: ByteBuffer, to id: UploadID, at offset: Int64) async throws
    /// Opens the session's data for reading (used only to rebuild the hash after a restart).
    func openReader(_ id: UploadID) async throws -> any BlobReader
    /// Makes the session's data the blob `digest`, atomically and durably (replacing a file
    /// already there, which holds the same bytes unless it is corrupt), before the blob's records
    /// are written: a file no record owns is harmless (garbage collection removes it after its
    /// grace period), a record without its file is not. The session's data stays until
    /// ``remove(_:)``: the caller removes it once the records are committed, so that a crash in
    /// between leaves a session that can still complete.
    func place(_ id: UploadID, as digest: Digest) async throws
    /// Inside the transaction that records the blob, under the write lock: makes sure the file
    /// ``place(_:as:)`` put there is still there (a collection may have removed a file of that
    /// digest in between), placing it again if not. Usually a single `stat`.
    func confirmPlaced(_ id: UploadID, as digest: Digest) async throws
    /// Removes the session's data. Removing an unknown session is not an error.
    func remove(_ id: UploadID) async throws
    /// Ids of every session that has data on disk.
    func allSessions() async throws -> [UploadID]
}

/// An upload data file open for appending. Writes are gathered into blocks and may still be
/// under way when ``append(_:)`` returns: an error then surfaces from a later call, and the
/// caller cuts the file back with ``truncate(to:)``. Used by one task at a time.
public protocol UploadWriter: Sendable {
    /// The file's length as readers see it: what was appended, less what is still gathered or
    /// being written.
    var writtenLength: Int64 { get }
    /// Appends `buffer` after everything appended before.
    func append(_ buffer: ByteBuffer) async throws
    /// Writes what is gathered and flushes the file to stable storage.
    func finish() async throws
    /// Waits for the write under way, drops what is gathered, and cuts the file to `length`;
    /// appending then goes on from there.
    func truncate(to length: Int64) async throws
    func close() async throws
}
