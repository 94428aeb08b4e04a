#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Size and free space of the file system holding a path, as `statvfs(3)` reports them.
public struct FileSystemSpace: Sendable, Equatable {
    /// Bytes a process without root's reserve may still write (`f_bavail`): what the registry
    /// can count on even when it runs as root.
    public var availableBytes: Int64
    /// Size of the file system (`f_blocks`).
    public var totalBytes: Int64

    public init(availableBytes: Int64, totalBytes: Int64) {
        self.availableBytes = availableBytes
        self.totalBytes = totalBytes
    }

    /// Measures the file system that holds `path`. Blocks briefly: call it off the event loops.
    public static func measure(at path: String) throws(StorageError) -> FileSystemSpace {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw .systemCall("statvfs", errno: errno, path: path) }
        let blockSize = Int64(info.f_frsize)
        return FileSystemSpace(
            availableBytes: Int64(info.f_bavail) * blockSize, totalBytes: Int64(info.f_blocks) * blockSize)
    }
}
