import Foundation
import NIOCore
import NIOFileSystem
import NIOPosix
import RegistryModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Blobs as files under `<root>/blobs`, laid out by ``StorageLayout``.
public struct FilesystemBlobStore: BlobStore, UploadStore {
    public let layout: StorageLayout
    private let fileSystem: FileSystem
    private let threadPool: NIOThreadPool

    public init(layout: StorageLayout, fileSystem: FileSystem = .shared, threadPool: NIOThreadPool = .singleton) {
        self.layout = layout
        self.fileSystem = fileSystem
        self.threadPool = threadPool
    }

    /// Creates the directory skeleton. Called once at start-up.
    public func prepare() async throws {
        for directory in [layout.root, layout.blobsDirectory, layout.uploadsDirectory] {
            try await fileSystem.createDirectory(at: directory, withIntermediateDirectories: true, permissions: nil)
        }
    }

    // MARK: BlobStore

    public func open(_ digest: Digest) async throws -> (any BlobReader)? {
        do {
            let handle = try await fileSystem.openFile(forReadingAt: layout.blobPath(for: digest), options: .init())
            do {
                let size = try await handle.info().size
                return FileBlobReader(handle: handle, size: size)
            } catch {
                try? await handle.closeEvenIfCancelled()
                throw error
            }
        } catch let error as FileSystemError where error.code == .notFound {
            return nil
        }
    }

    public func size(of digest: Digest) async throws -> Int64? {
        try await fileSystem.info(forFileAt: layout.blobPath(for: digest), infoAboutSymbolicLink: false)?.size
    }

    @discardableResult
    public func delete(_ digest: Digest) async throws -> Bool {
        try await fileSystem.removeItem(at: layout.blobPath(for: digest), strategy: .platformDefault, recursively: false) > 0
    }

    public func delete(_ digests: [Digest]) async throws {
        // One trip to the I/O threads for the whole batch rather than one per file.
        let paths = digests.map { layout.blobPath(for: $0).string }
        try await threadPool.runIfActive {
            for path in paths where unlink(path) != 0 && errno != ENOENT {
                throw StorageError.systemCall("unlink", errno: errno, path: path)
            }
        }
    }

    public func checkWritable() async throws {
        let probe = layout.uploadsDirectory.appending(".ready-\(UploadID().value)")
        let handle = try await fileSystem.openFile(forWritingAt: probe, options: .newFile(replaceExisting: false))
        try await handle.closeEvenIfCancelled()
        try await fileSystem.removeItem(at: probe, strategy: .platformDefault, recursively: false)
    }

    public func space() async throws -> FileSystemSpace {
        let root = layout.root.string
        return try await threadPool.runIfActive { try FileSystemSpace.measure(at: root) }
    }

    public func quarantine(_ digest: Digest) async throws -> Bool {
        try await fileSystem.createDirectory(at: layout.quarantineDirectory, withIntermediateDirectories: true, permissions: nil)
        do {
            try await fileSystem.replaceItem(at: layout.quarantinePath(for: digest), withItemAt: layout.blobPath(for: digest))
            return true
        } catch let error as FileSystemError where error.code == .notFound {
            return false
        }
    }

    public func storedDigests(changedBefore date: Date) async throws -> [Digest] {
        let base = layout.blobsDirectory.string
        let cutoff = date.timeIntervalSince1970
        return try await threadPool.runIfActive {
            // ctime moves with every write, link and rename: a file just placed by an upload
            // that is still committing its records is young, whatever its data's age.
            try Self.listBlobFiles(under: base).filter { $0.changed < cutoff }.map(\.digest).sorted()
        }
    }

    public func storedDigests() async throws -> [Digest] {
        let base = layout.blobsDirectory.string
        return try await threadPool.runIfActive { try Self.listBlobFiles(under: base).map(\.digest).sorted() }
    }

    /// Every blob file under `base` (`<algorithm>/<2 hex>/<hex>`) with its status-change time,
    /// in one pass of plain directory reads (run on an I/O thread; a whole store can hold
    /// millions of files).
    private static func listBlobFiles(under base: String) throws -> [(digest: Digest, changed: Double)] {
        var found: [(digest: Digest, changed: Double)] = []
        for algorithm in try names(in: base) {
            let algorithmPath = base + "/" + algorithm
            for prefix in try names(in: algorithmPath) {
                let directory = algorithmPath + "/" + prefix
                guard let stream = opendir(directory) else {
                    if errno == ENOENT || errno == ENOTDIR { continue }
                    throw StorageError.systemCall("opendir", errno: errno, path: directory)
                }
                defer { closedir(stream) }
                let descriptor = dirfd(stream)
                while let entry = readdir(stream) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    guard !name.hasPrefix("."), let digest = try? Digest(parsing: "\(algorithm):\(name)") else { continue }
                    var info = stat()
                    guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                    found.append((digest, Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9))
                }
            }
        }
        return found
    }

    /// Names in a directory, without `.` and `..`; none when it does not exist.
    private static func names(in path: String) throws -> [String] {
        guard let stream = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw StorageError.systemCall("opendir", errno: errno, path: path)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Names in a directory; none when it does not exist.
    private func entries(of directory: FilePath) async throws -> [String] {
        let handle: DirectoryFileHandle
        do {
            handle = try await fileSystem.openDirectory(atPath: directory, options: .init())
        } catch let error as FileSystemError where error.code == .notFound {
            return []
        }
        var names: [String] = []
        do {
            for try await entry in handle.listContents() { names.append(entry.name.string) }
        } catch {
            try? await handle.closeEvenIfCancelled()
            throw error
        }
        try await handle.closeEvenIfCancelled()
        return names
    }

    // MARK: UploadStore

    /// A file is read as it grows.
    public var readsWhileWriting: Bool { true }

    public func length(of id: UploadID) async throws -> Int64? {
        try await fileSystem.info(forFileAt: layout.uploadDataPath(for: id), infoAboutSymbolicLink: false)?.size
    }

    public func openWriter(_ id: UploadID, at offset: Int64) async throws -> any UploadWriter {
        try await StagedUploadWriter(path: layout.uploadDataPath(for: id).string, at: offset, threadPool: threadPool)
    }

    public func writeDurably(_ buffer: ByteBuffer, to id: UploadID, at offset: Int64) async throws {
        let path = layout.uploadDataPath(for: id).string
        try await threadPool.runIfActive {
            let descriptor = openForWriting(path)
            guard descriptor >= 0 else { throw StorageError.systemCall("open", errno: errno, path: path) }
            defer { _ = close(descriptor) }
            do {
                try buffer.withUnsafeReadableBytes { bytes in
                    var written = 0
                    while written < bytes.count {
                        let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
                        if result < 0 {
                            if errno == EINTR { continue }
                            throw StorageError.systemCall("write", errno: errno, path: path)
                        }
                        written += result
                    }
                }
                guard fsync(descriptor) == 0 else { throw StorageError.systemCall("fsync", errno: errno, path: path) }
            } catch {
                _ = ftruncate(descriptor, off_t(offset))
                throw error
            }
        }
    }

    public func openReader(_ id: UploadID) async throws -> any BlobReader {
        let handle = try await fileSystem.openFile(forReadingAt: layout.uploadDataPath(for: id), options: .init())
        do {
            return FileBlobReader(handle: handle, size: try await handle.info().size)
        } catch {
            try? await handle.closeEvenIfCancelled()
            throw error
        }
    }

    public func place(_ id: UploadID, as digest: Digest) async throws {
        let paths = PlacementPaths(layout: layout, id: id, digest: digest)
        try await threadPool.runIfActive { try Self.place(paths) }
    }

    public func confirmPlaced(_ id: UploadID, as digest: Digest) async throws {
        let paths = PlacementPaths(layout: layout, id: id, digest: digest)
        try await threadPool.runIfActive {
            var info = stat()
            if lstat(paths.destination, &info) == 0 { return }
            guard errno == ENOENT else { throw StorageError.systemCall("stat", errno: errno, path: paths.destination) }
            try Self.place(paths)
        }
    }

    /// Where a session's data goes to become a blob.
    private struct PlacementPaths: Sendable {
        var source: String
        var staging: String
        var directory: FilePath
        var destination: String

        init(layout: StorageLayout, id: UploadID, digest: Digest) {
            source = layout.uploadDataPath(for: id).string
            staging = layout.uploadCommitPath(for: id).string
            directory = layout.blobDirectory(for: digest)
            destination = layout.blobPath(for: digest).string
        }
    }

    private static func place(_ paths: PlacementPaths) throws {
        let (source, staging, directory, destination) = (paths.source, paths.staging, paths.directory, paths.destination)
        // A hard link, not a rename: the session keeps its data until its records say it is
        // finished, so a crash before that commit leaves a session that can still complete.
        var triedDirectories = false
        var createdDirectories: [FilePath] = []
        while link(source, destination) != 0 {
            let code = errno
            if code == EEXIST {
                // The blob's file exists: the same bytes, or a corrupt copy awaiting
                // quarantine. Replaced atomically (rename(2)), so a reader sees the old file
                // or the new one, never neither.
                try replace(destination, with: source, staging: staging)
                break
            }
            guard code == ENOENT, !triedDirectories else {
                throw StorageError.systemCall("link", errno: code, path: "\(source) -> \(destination)")
            }
            // `blobs/<algorithm>/<2 hex>`: made when the first blob under them arrives.
            triedDirectories = true
            for path in [directory.removingLastComponent(), directory] {
                if mkdir(path.string, 0o755) == 0 {
                    createdDirectories.append(path)
                } else if errno != EEXIST {
                    throw StorageError.systemCall("mkdir", errno: errno, path: path.string)
                }
            }
        }
        // The new name must survive a power loss before the records that point at it are
        // committed; so must a directory made for it, in its parent.
        for path in [directory] + createdDirectories.map({ $0.removingLastComponent() }) {
            try syncDirectory(path.string)
        }
    }

    /// Puts `source`'s file at `destination` in place of what is there, through a second link.
    private static func replace(_ destination: String, with source: String, staging: String) throws {
        if unlink(staging) != 0 && errno != ENOENT {
            throw StorageError.systemCall("unlink", errno: errno, path: staging)
        }
        guard link(source, staging) == 0 else { throw StorageError.systemCall("link", errno: errno, path: staging) }
        guard rename(staging, destination) == 0 else {
            let code = errno
            _ = unlink(staging)
            throw StorageError.renameFailed(errno: code, from: staging, to: destination)
        }
    }

    public func remove(_ id: UploadID) async throws {
        let paths = [layout.uploadDataPath(for: id).string, layout.uploadCommitPath(for: id).string]
        try await threadPool.runIfActive {
            for path in paths where unlink(path) != 0 && errno != ENOENT {
                throw StorageError.systemCall("unlink", errno: errno, path: path)
            }
        }
    }

    public func allSessions() async throws -> [UploadID] {
        let names = try await entries(of: layout.uploadsDirectory)
        return Array(Set(names.compactMap { UploadID(String($0.split(separator: ".", maxSplits: 1)[0])) }))
    }
}

/// Flushes a directory's entries to stable storage, so that a file created, linked or renamed
/// in it survives a power loss.
func syncDirectory(_ path: String) throws {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw StorageError.systemCall("open", errno: errno, path: path) }
    defer { _ = close(descriptor) }
    guard fsync(descriptor) == 0 else { throw StorageError.systemCall("fsync", errno: errno, path: path) }
}

/// `open(2)` for writing, creating the file; outside the store, whose `open(_:)` hides the C function.
private func openForWriting(_ path: String) -> Int32 {
    open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
}

/// Errors of the storage layer that are not the file system's own.
public enum StorageError: Error, CustomStringConvertible {
    case renameFailed(errno: Int32, from: String, to: String)
    /// A file was shorter than the length its metadata records.
    case truncatedFile(expected: Int64, found: Int64)
    case systemCall(String, errno: Int32, path: String)

    public var description: String {
        switch self {
        case .renameFailed(let code, let from, let to):
            "rename \(from) -> \(to) failed: \(String(cString: strerror(code)))"
        case .truncatedFile(let expected, let found):
            "file holds \(found) bytes, \(expected) expected"
        case .systemCall(let call, let code, let path):
            "\(call) \(path) failed: \(String(cString: strerror(code)))"
        }
    }
}

/// A blob opened from the file system.
final class FileBlobReader: BlobReader {
    let size: Int64
    var supportsSendfile: Bool { true }
    private let handle: ReadFileHandle

    init(handle: ReadFileHandle, size: Int64) {
        self.handle = handle
        self.size = size
    }

    /// Reads on demand, one `pread` per `next()` on the I/O threads, into a ring of
    /// ``recycledBuffers`` buffers that are reused once the consumer has let go of them.
    /// NIOFileSystem's `readChunks` reads up to 8 chunks ahead, into a fresh buffer each: from
    /// 256 KiB up every one is a new mapping (see the registry's malloc settings), and its page
    /// faults and unmapping took more CPU than the reads themselves (half of a TLS blob pull's).
    func chunks(in range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        BlobChunks(FileChunks(wrapping: RecycledChunks(handle: handle, range: range, chunkSize: max(1, chunkSize))))
    }

    func takeFileHandleForSendfile() throws -> NIOFileHandle {
        let descriptor = try handle.detachUnsafeFileDescriptor()
        // The one place a NIOFileHandle is made: FileRegion (sendfile) still needs one.
        return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor.rawValue)
    }

    func close() async throws {
        try await handle.closeEvenIfCancelled()
    }

    /// How many buffers a chunk sequence reuses in turn: a consumer that holds at most this
    /// many minus one chunks at a time (a response with writes in flight, say) gets its buffers
    /// back; one that keeps more only makes the reader allocate.
    static let recycledBuffers = 3

    /// The chunks of one range, read into recycled buffers.
    struct RecycledChunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let handle: ReadFileHandle
        let range: Range<Int64>
        let chunkSize: Int

        func makeAsyncIterator() -> Iterator {
            Iterator(handle: handle, offset: range.lowerBound, end: range.upperBound, chunkSize: chunkSize)
        }

        struct Iterator: AsyncIteratorProtocol {
            let handle: ReadFileHandle
            var offset: Int64
            let end: Int64
            let chunkSize: Int
            var ring = [ByteBuffer](repeating: ByteBuffer(), count: FileBlobReader.recycledBuffers)
            var turn = 0

            mutating func next() async throws -> ByteBuffer? {
                guard offset < end else { return nil }
                let length = Int(Swift.min(Int64(chunkSize), end - offset))
                let slot = turn % ring.count
                turn += 1
                // The ring lets go of the slot's buffer, so that the buffer is reused in place
                // when the consumer has dropped its copy (and copied on write when it has not).
                let box = Box(ring[slot])
                ring[slot] = ByteBuffer()
                let position = offset
                let read = try await handle.withUnsafeDescriptor { descriptor in
                    box.buffer.clear()
                    return try box.buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
                        var done = 0
                        while done < length {
                            let count = pread(
                                descriptor.rawValue, target.baseAddress! + done, length - done, off_t(position + Int64(done)))
                            if count > 0 {
                                done += count
                            } else if count == 0 {
                                break
                            } else if errno != EINTR {
                                throw StorageError.systemCall("pread", errno: errno, path: "descriptor \(descriptor.rawValue)")
                            }
                        }
                        return done
                    }
                }
                // A file shorter than the range ends the sequence early; the consumer checks lengths.
                guard read > 0 else {
                    offset = end
                    return nil
                }
                offset += Int64(read)
                ring[slot] = box.buffer
                return box.buffer
            }
        }

        /// Carries a buffer to the I/O thread and back without a second reference to it.
        final class Box: @unchecked Sendable {
            var buffer: ByteBuffer
            init(_ buffer: ByteBuffer) { self.buffer = buffer }
        }
    }
}

extension FileHandleProtocol {
    /// Closes the handle, in a cancelled task too: NIOFileSystem does not run a close there (a
    /// client that went away, or a shutdown, cancels the task), and a handle dropped open is a
    /// fatal error, so the descriptor is closed here instead.
    func closeEvenIfCancelled() async throws {
        do {
            try await close()
        } catch is CancellationError {
            if let descriptor = try? detachUnsafeFileDescriptor() { try? descriptor.close() }
        }
    }
}
