import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an upload's data file in blocks of ``blockSize`` bytes, copied into page-aligned
/// staging memory, with one block being written while the next one fills.
///
/// Blocks go to the disk with `O_DIRECT` where the file system allows it: on this project's
/// machines, copying a pushed blob into the page cache cost more CPU than hashing it (a third of
/// the server's time in `copy_folio_from_iter_atomic`), while direct writes cost almost none.
/// The parts of a block that do not cover whole pages (the start of a chunk that continues an
/// odd-sized one, the end of the blob) go through a second, buffered descriptor.
///
/// Used by one task at a time, like every `UploadWriter`.
final class StagedUploadWriter: UploadWriter, @unchecked Sendable {
    static let blockSize = 1 << 20
    static let pageSize: Int64 = 4096

    private let path: String
    private let threadPool: NIOThreadPool
    private var buffered: Int32
    /// The same file opened with `O_DIRECT`, or -1 where the file system refuses it (tmpfs).
    private var direct: Int32

    private var filling: StagingBlock
    /// The block that is free for the next fill, once its write has finished.
    private var spare: StagingBlock?
    /// File offset of the page `filling` starts at, and the range of bytes it holds.
    private var blockOrigin: Int64
    private var fillStart: Int64
    private var fillEnd: Int64

    private var inFlight: (task: Task<Void, any Error>, block: StagingBlock, end: Int64)?
    private(set) var writtenLength: Int64

    /// Opens (creating) the file at `path` for appending at `offset`.
    init(path: String, at offset: Int64, threadPool: NIOThreadPool) async throws {
        let descriptors = try await threadPool.runIfActive { () throws -> (Int32, Int32) in
            let buffered = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard buffered >= 0 else { throw StorageError.systemCall("open", errno: errno, path: path) }
            #if os(Linux)
            return (buffered, openDirectForWriting(path))
            #else
            return (buffered, -1)
            #endif
        }
        self.path = path
        self.threadPool = threadPool
        (buffered, direct) = descriptors
        filling = StagingBlock()
        blockOrigin = offset - offset % Self.pageSize
        fillStart = offset
        fillEnd = offset
        writtenLength = offset
    }

    deinit { closeDescriptors() }

    func append(_ buffer: ByteBuffer) async throws {
        var rest = buffer
        while rest.readableBytes > 0 {
            let room = Int(blockOrigin + Int64(Self.blockSize) - fillEnd)
            let count = min(room, rest.readableBytes)
            let destination = filling.base + Int(fillEnd - blockOrigin)
            rest.readWithUnsafeReadableBytes { source in
                destination.copyMemory(from: source.baseAddress!, byteCount: count)
                return count
            }
            fillEnd += Int64(count)
            if count == room { try await submit() }
        }
    }

    func finish() async throws {
        if fillEnd > fillStart { try await submit() }
        try await drain()
        let (descriptor, path) = (buffered, path)
        try await threadPool.runIfActive {
            guard fsync(descriptor) == 0 else { throw StorageError.systemCall("fsync", errno: errno, path: path) }
        }
    }

    func truncate(to length: Int64) async throws {
        try? await drain()
        blockOrigin = length - length % Self.pageSize
        fillStart = length
        fillEnd = length
        let (descriptor, path) = (buffered, path)
        try await threadPool.runIfActive {
            guard ftruncate(descriptor, off_t(length)) == 0 else {
                throw StorageError.systemCall("ftruncate", errno: errno, path: path)
            }
        }
        writtenLength = length
    }

    func close() async throws {
        // The descriptors close only after the write still using them has ended.
        try? await drain()
        closeDescriptors()
    }

    // MARK: Internals

    /// Starts writing the filled block, after the previous write has finished.
    private func submit() async throws {
        try await drain()
        let block = filling
        let write = BlockWrite(
            block: block, origin: blockOrigin, range: fillStart..<fillEnd, buffered: buffered, direct: direct, path: path)
        let pool = threadPool
        inFlight = (Task { try await pool.runIfActive { try write.perform() } }, block, fillEnd)
        filling = spare ?? StagingBlock()
        spare = nil
        blockOrigin = fillEnd - fillEnd % Self.pageSize
        fillStart = fillEnd
    }

    private func closeDescriptors() {
        if direct >= 0 { closeDescriptor(direct) }
        if buffered >= 0 { closeDescriptor(buffered) }
        (direct, buffered) = (-1, -1)
    }

    /// Waits for the write in flight, if any, and takes its block back.
    private func drain() async throws {
        guard let (task, block, end) = inFlight else { return }
        inFlight = nil
        spare = block
        try await task.value
        writtenLength = end
    }
}

#if os(Linux)
/// `open(2)` with `O_DIRECT`, which Glibc defines only under `_GNU_SOURCE` (invisible to Swift);
/// its value differs between architectures. -1 where the file system refuses it.
private func openDirectForWriting(_ path: String) -> Int32 {
    #if arch(arm64) || arch(arm)
    let direct: Int32 = 0o200000
    #else
    let direct: Int32 = 0o40000
    #endif
    return open(path, O_WRONLY | O_CLOEXEC | direct)
}
#endif

/// `close(2)`, outside the writer, whose `close()` hides the C function.
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}

/// Page-aligned memory for one block.
private final class StagingBlock: @unchecked Sendable {
    let base = UnsafeMutableRawPointer.allocate(
        byteCount: StagedUploadWriter.blockSize, alignment: Int(StagedUploadWriter.pageSize))

    deinit { base.deallocate() }
}

/// One block's bytes going to the file: whole pages through the direct descriptor, the rest
/// through the buffered one.
private struct BlockWrite: Sendable {
    let block: StagingBlock
    /// The file offset of the block's first byte of memory (a page boundary).
    let origin: Int64
    let range: Range<Int64>
    let buffered: Int32
    let direct: Int32
    let path: String

    func perform() throws {
        let page = StagedUploadWriter.pageSize
        guard direct >= 0 else {
            try put(range, through: buffered)
            #if os(Linux)
            // Starts writeback now, so that the final fsync does not find a whole blob of dirty pages.
            WritebackHint.startWriteback(descriptor: buffered, offset: range.lowerBound, length: Int64(range.count))
            #endif
            return
        }
        let headEnd = min((range.lowerBound + page - 1) / page * page, range.upperBound)
        let tailStart = max(range.upperBound / page * page, headEnd)
        if headEnd > range.lowerBound { try put(range.lowerBound..<headEnd, through: buffered) }
        if tailStart > headEnd { try putDirect(headEnd..<tailStart) }
        if range.upperBound > tailStart { try put(tailStart..<range.upperBound, through: buffered) }
    }

    /// Whole pages with `O_DIRECT`; whatever the file system will not take that way (a short
    /// write, a larger alignment than a page) goes through the buffered descriptor.
    private func putDirect(_ pages: Range<Int64>) throws {
        let count = Int(pages.count)
        let result = pwrite(direct, block.base + Int(pages.lowerBound - origin), count, off_t(pages.lowerBound))
        if result == count { return }
        if result < 0 && errno != EINVAL && errno != EINTR {
            throw StorageError.systemCall("write", errno: errno, path: path)
        }
        try put((pages.lowerBound + Int64(max(result, 0)))..<pages.upperBound, through: buffered)
    }

    private func put(_ bytes: Range<Int64>, through descriptor: Int32) throws {
        var offset = bytes.lowerBound
        while offset < bytes.upperBound {
            let result = pwrite(descriptor, block.base + Int(offset - origin), Int(bytes.upperBound - offset), off_t(offset))
            if result < 0 {
                if errno == EINTR { continue }
                throw StorageError.systemCall("write", errno: errno, path: path)
            }
            offset += Int64(result)
        }
    }
}
