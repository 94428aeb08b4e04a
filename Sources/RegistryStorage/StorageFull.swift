import NIOCore
import NIOFileSystem
import SQLiteNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether `error` means the storage has no room left: the file system is full (`ENOSPC`), the
/// user's quota is used up (`EDQUOT`), or SQLite could not grow the database (`SQLITE_FULL`).
///
/// The one place that knows every shape in which "disk full" reaches the registry: the stores'
/// own ``StorageError``, NIO's `IOError`, NIOFileSystem's `FileSystemError` (whose errno sits in
/// its chain of causes), a bare `Errno`, and sqlite-nio's `SQLiteError`.
public func isStorageFull(_ error: any Error) -> Bool {
    switch error {
    case let error as StorageError:
        switch error {
        case .systemCall(_, let code, _), .renameFailed(let code, _, _): return StorageFull.isFullErrno(code)
        case .truncatedFile: return false
        }
    case let error as IOError:
        return StorageFull.isFullErrno(error.errnoCode)
    case let error as FileSystemError:
        return error.cause.map(isStorageFull) ?? false
    case let error as FileSystemError.SystemCallError:
        return StorageFull.isFullErrno(error.errno.rawValue)
    case let error as Errno:
        return StorageFull.isFullErrno(error.rawValue)
    case let error as SQLiteError:
        return error.reason == .full
    default:
        return false
    }
}

enum StorageFull {
    /// `ENOSPC` and `EDQUOT`: both leave nothing to write with until space is freed.
    static func isFullErrno(_ code: Int32) -> Bool {
        code == ENOSPC || code == EDQUOT
    }
}
