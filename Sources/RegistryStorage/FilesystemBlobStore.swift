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
                try? await handle.close()
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
        try await handle.close()
        try await fileSystem.removeItem(at: probe, strategy: .platformDefault, recursively: false)
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

    public func storedDigests() async throws -> [Digest] {
        var digests: [Digest] = []
        for algorithm in try await entries(of: layout.blobsDirectory) {
            for prefix in try await entries(of: layout.blobsDirectory.appending(algorithm)) {
                for encoded in try await entries(of: layout.blobsDirectory.appending(algorithm).appending(prefix)) {
                    if let digest = try? Digest(parsing: "\(algorithm):\(encoded)") { digests.append(digest) }
                }
            }
        }
        return digests.sorted()
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
            try? await handle.close()
            throw error
        }
        try await handle.close()
        return names
    }

    // MARK: UploadStore

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
            try? await handle.close()
            throw error
        }
    }

    public func commit(_ id: UploadID, as digest: Digest) async throws {
        let source = layout.uploadDataPath(for: id)
        let directory = layout.blobDirectory(for: digest)
        let destination = layout.blobPath(for: digest)
        // rename(2) replaces atomically: a reader sees the old file or the new one, never neither.
        // Two sessions committing the same digest both succeed and leave one file with the same bytes.
        // The directory usually exists already, so it is made only when the first rename says so.
        try await threadPool.runIfActive {
            if rename(source.string, destination.string) == 0 { return }
            guard errno == ENOENT else {
                throw StorageError.renameFailed(errno: errno, from: source.string, to: destination.string)
            }
            // `blobs/<algorithm>/<2 hex>`: the algorithm's directory may be missing too.
            for path in [directory.removingLastComponent(), directory] where mkdir(path.string, 0o755) != 0 && errno != EEXIST {
                throw StorageError.systemCall("mkdir", errno: errno, path: path.string)
            }
            guard rename(source.string, destination.string) == 0 else {
                throw StorageError.renameFailed(errno: errno, from: source.string, to: destination.string)
            }
        }
        // The rename consumed the session's file: nothing is left to delete.
    }

    public func remove(_ id: UploadID) async throws {
        try await fileSystem.removeItem(at: layout.uploadDataPath(for: id), strategy: .platformDefault, recursively: false)
    }

    public func allSessions() async throws -> [UploadID] {
        try await entries(of: layout.uploadsDirectory).compactMap(UploadID.init)
    }
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
    private let handle: ReadFileHandle

    init(handle: ReadFileHandle, size: Int64) {
        self.handle = handle
        self.size = size
    }

    func chunks(in range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        BlobChunks(handle.readChunks(in: range, chunkLength: .bytes(Int64(chunkSize))))
    }

    func takeFileHandleForSendfile() throws -> NIOFileHandle {
        let descriptor = try handle.detachUnsafeFileDescriptor()
        // The one place a NIOFileHandle is made: FileRegion (sendfile) still needs one.
        return NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: descriptor.rawValue)
    }

    func close() async throws {
        try await handle.close()
    }
}
