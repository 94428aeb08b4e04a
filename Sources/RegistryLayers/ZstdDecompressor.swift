import CZstd

/// Streaming zstd decompression with libzstd, for `+zstd` layers.
///
/// Feed the compressed stream in chunks of any size with `decompress(_:into:)`; the uncompressed
/// bytes go to the sink in pieces of at most 64 KiB. Call `finish()` at the end of the input: it
/// throws `LayerCodecError.truncated` when the data stopped inside a frame.
///
/// A stream of several frames (concatenated `zstd` outputs, skippable frames included) is
/// decompressed frame after frame, as the zstd format allows. A frame that asks for a window
/// larger than libzstd's default limit (2^27 bytes) is refused with
/// `LayerCodecError.memoryLimitExceeded`: hostile input cannot make it allocate more.
///
/// A class because the libzstd context must be freed. Not thread-safe; after an error, discard
/// it.
public final class ZstdDecompressor {
    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    /// The last call completed and flushed a frame and no byte has followed yet: where the input
    /// may end cleanly.
    private var atFrameEnd = false
    private var sawInput = false
    private var finished = false

    /// Compressed bytes consumed so far.
    public private(set) var consumedByteCount: UInt64 = 0
    /// Uncompressed bytes handed to sinks so far.
    public private(set) var producedByteCount: UInt64 = 0

    public init() throws(LayerCodecError) {
        guard let context = ZSTD_createDStream() else { throw .outOfMemory(.zstd) }
        self.context = context
        output = .allocate(byteCount: CodecBuffers.outputChunkSize, alignment: 1)
    }

    deinit {
        ZSTD_freeDStream(context)
        output.deallocate()
    }

    /// Decompresses the next chunk of the compressed stream, handing all output it yields to
    /// `sink`. Throws `LayerCodecError` or what `sink` throws.
    public func decompress(_ input: UnsafeRawBufferPointer, into sink: ByteSink) throws {
        guard !finished else { throw LayerCodecError.alreadyFinished(.zstd) }
        guard let base = input.baseAddress, !input.isEmpty else { return }
        sawInput = true
        var inBuffer = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        defer { consumedByteCount += UInt64(inBuffer.pos) }
        var moreToFlush: Bool
        repeat {
            var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(result) != 0 { throw Self.error(for: result) }
            if outBuffer.pos > 0 {
                producedByteCount += UInt64(outBuffer.pos)
                try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: outBuffer.pos))
            }
            // 0: the frame is complete and flushed. A frame continues (more input, or output
            // still inside the decoder when our buffer filled up) otherwise. A call without
            // input at a frame boundary would answer "more to do" for the next frame, so the
            // loop does not make one.
            atFrameEnd = result == 0
            moreToFlush = result != 0 && outBuffer.pos == outBuffer.size
        } while inBuffer.pos < inBuffer.size || moreToFlush
    }

    /// `decompress(_:into:)` for any contiguous or non-contiguous byte collection.
    public func decompress(_ input: some Collection<UInt8>, into sink: ByteSink) throws {
        try withContiguousBytes(of: input) { try decompress($0, into: sink) }
    }

    /// Ends the stream: throws `LayerCodecError.truncated` unless the input ended right after a
    /// complete frame (an empty input is truncated too: it holds no frame).
    public func finish() throws(LayerCodecError) {
        guard !finished else { return }
        finished = true
        guard sawInput, atFrameEnd else { throw .truncated(.zstd) }
    }

    private static func error(for result: Int) -> LayerCodecError {
        let detail = String(cString: ZSTD_getErrorName(result))
        switch ZSTD_getErrorCode(result) {
        case ZSTD_error_frameParameter_windowTooLarge:
            return .memoryLimitExceeded(.zstd, detail: detail)
        case ZSTD_error_memory_allocation:
            return .outOfMemory(.zstd)
        default:
            return .corrupt(.zstd, detail: detail)
        }
    }
}
