#if canImport(Glibc)
import Glibc
#endif

/// glibc's allocator settings for a long-running server.
enum MallocTuning {
    /// Allocations from 256 KiB up (the buffers of streamed blob bodies) are always their own
    /// mappings, returned to the system when freed. By default glibc raises that threshold to
    /// the size of any such block once it is freed, after which every blob chunk's buffers come
    /// from the per-thread heaps and stay there: 16 MiB chunk uploads grew the server's memory
    /// from 7 to 40 MiB that way and never gave it back.
    static func apply() {
        #if canImport(Glibc)
        // `mallopt` and `M_MMAP_THRESHOLD` (-3) are in <malloc.h>, which Swift's Glibc module
        // leaves out: the function is looked up in the process's symbols.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mmapThreshold: Int32 = -3
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 256 << 10)
        #endif
    }
}
