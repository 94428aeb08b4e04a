import CZlib

/// Streaming gzip compression with zlib, for writing `+gzip` layers.
///
/// Feed the uncompressed stream with `compress(_:into:)` and end it with `finish(into:)`, which
/// writes what zlib still holds and the gzip trailer. The compressed bytes go to the sink in
/// pieces of at most 64 KiB. The output is one gzip member whose header has no name and a zero
/// modification time, so the same input and level always give the same bytes (with one zlib
/// version): a layer's digest does not depend on when it was made.
///
/// A class because zlib's stream state must stay at one address and be freed. Not thread-safe;
/// after an error, discard it.
public final class GzipCompressor {
    /// The level `gzip` and Go's `compress/gzip` use by default.
    public static let defaultLevel = 6

    /// `deflateInit2` window bits: the largest window (15), plus 16 for a gzip header and trailer
    /// instead of zlib's.
    private static let windowBits: Int32 = 15 + 16
    /// zlib's default memory level (its `DEF_MEM_LEVEL`, which zlib.h does not export).
    private static let memoryLevel: Int32 = 8

    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    private var finished = false

    /// Uncompressed bytes consumed so far.
    public private(set) var consumedByteCount: UInt64 = 0
    /// Compressed bytes handed to sinks so far.
    public private(set) var producedByteCount: UInt64 = 0

    /// - Parameter level: 0 (stored, no compression) to 9 (smallest output, slowest).
    public init(level: Int = GzipCompressor.defaultLevel) throws(LayerCodecError) {
        guard (0...9).contains(level) else { throw .invalidLevel(level) }
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = czlib_deflate_init2(stream, Int32(level), Z_DEFLATED, Self.windowBits, Self.memoryLevel, Z_DEFAULT_STRATEGY)
        guard result == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw result == Z_MEM_ERROR ? .outOfMemory(.gzip) : .library(.gzip, code: Int(result), detail: "deflateInit2 failed")
        }
        self.stream = stream
        output = .allocate(byteCount: CodecBuffers.outputChunkSize, alignment: 1)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses the next chunk of the stream. zlib buffers internally, so the sink may be
    /// called less often than this, or not at all, until `finish(into:)`.
    public func compress(_ input: UnsafeRawBufferPointer, into sink: ByteSink) throws {
        guard !finished else { throw LayerCodecError.alreadyFinished(.gzip) }
        guard let base = input.baseAddress, !input.isEmpty else { return }
        var offset = 0
        while offset < input.count {
            let count = min(input.count - offset, CodecBuffers.maxZlibInputSlice)
            try deflateSlice(UnsafeRawBufferPointer(start: base + offset, count: count), flush: Z_NO_FLUSH, into: sink)
            offset += count
        }
    }

    /// `compress(_:into:)` for any contiguous or non-contiguous byte collection.
    public func compress(_ input: some Collection<UInt8>, into sink: ByteSink) throws {
        try withContiguousBytes(of: input) { try compress($0, into: sink) }
    }

    /// Writes the rest of the compressed stream and the gzip trailer (CRC-32 and length). The
    /// compressor cannot be used afterwards.
    public func finish(into sink: ByteSink) throws {
        guard !finished else { throw LayerCodecError.alreadyFinished(.gzip) }
        finished = true
        try deflateSlice(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH, into: sink)
    }

    private func deflateSlice(_ input: UnsafeRawBufferPointer, flush: Int32, into sink: ByteSink) throws {
        stream.pointee.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        stream.pointee.avail_in = uInt(input.count)
        defer {
            consumedByteCount += UInt64(input.count) - UInt64(stream.pointee.avail_in)
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let result = deflate(stream, flush)
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 {
                producedByteCount += UInt64(produced)
                try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: produced))
            }
            switch result {
            case Z_STREAM_END:
                return
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR only means no progress was possible this call. With Z_NO_FLUSH,
                // a buffer left with room means zlib took all the input; with Z_FINISH, zlib
                // goes on until it answers Z_STREAM_END.
                if flush == Z_NO_FLUSH, stream.pointee.avail_out > 0 { return }
            case Z_MEM_ERROR:
                throw LayerCodecError.outOfMemory(.gzip)
            default:
                throw LayerCodecError.library(.gzip, code: Int(result), detail: stream.pointee.msg.map { String(cString: $0) } ?? "deflate failed")
            }
        }
    }
}
