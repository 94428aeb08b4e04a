#if os(Linux)
import Glibc

/// `sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`: asks the kernel to start writing a range
/// of a file to disk and returns without waiting. Glibc declares it only under `_GNU_SOURCE`,
/// which Swift's Glibc module does not see, so it is looked up once at run time.
enum WritebackHint {
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private static let syncFileRangeWrite: UInt32 = 2

    private static let function: SyncFileRange? = {
        // A nil handle is glibc's RTLD_DEFAULT: the process's global symbols.
        guard let symbol = dlsym(nil, "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: SyncFileRange.self)
    }()

    /// Starts writeback of `length` bytes at `offset`; a no-op where the call is unavailable.
    static func startWriteback(descriptor: Int32, offset: Int64, length: Int64) {
        _ = function?(descriptor, offset, length, syncFileRangeWrite)
    }
}
#endif
