import CZlib

/// Streaming gzip decompression with zlib, for `+gzip` and Docker `.tar.gzip` layers.
///
/// Feed the compressed stream in chunks of any size with `decompress(_:into:)`; the uncompressed
/// bytes go to the sink in pieces of at most 64 KiB. Call `finish()` at the end of the input: it
/// throws `LayerCodecError.truncated` when the data stopped inside a member.
///
/// A gzip file is a series of members (RFC 1952 §2.2), and parallel compressors (pigz, and
/// tools that append to layers) write several; all are decompressed, one after the other, as
/// Go's `compress/gzip` does. Bytes after a member that are not another member are corrupt data.
///
/// A class because zlib's stream state must stay at one address and be freed: zlib keeps a
/// pointer back to it. Not thread-safe; after an error, discard it.
public final class GzipDecompressor {
    /// `inflateInit2` window bits: the largest window (15), plus 32 to detect the gzip (or zlib)
    /// header automatically.
    private static let windowBits: Int32 = 15 + 32

    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutableRawBufferPointer
    /// The last inflate call ended a member and no byte has followed yet: where the input may
    /// end cleanly.
    private var atMemberEnd = false
    private var sawInput = false
    private var finished = false

    /// Compressed bytes consumed so far.
    public private(set) var consumedByteCount: UInt64 = 0
    /// Uncompressed bytes handed to sinks so far.
    public private(set) var producedByteCount: UInt64 = 0
    /// Complete gzip members decoded so far.
    public private(set) var memberCount = 0

    public init() throws(LayerCodecError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let result = czlib_inflate_init2(stream, Self.windowBits)
        guard result == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw result == Z_MEM_ERROR ? .outOfMemory(.gzip) : .library(.gzip, code: Int(result), detail: "inflateInit2 failed")
        }
        self.stream = stream
        output = .allocate(byteCount: CodecBuffers.outputChunkSize, alignment: 1)
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Decompresses the next chunk of the compressed stream, handing all output it yields to
    /// `sink`. Throws `LayerCodecError` or what `sink` throws.
    public func decompress(_ input: UnsafeRawBufferPointer, into sink: ByteSink) throws {
        guard !finished else { throw LayerCodecError.alreadyFinished(.gzip) }
        guard let base = input.baseAddress, !input.isEmpty else { return }
        sawInput = true
        var offset = 0
        while offset < input.count {
            let count = min(input.count - offset, CodecBuffers.maxZlibInputSlice)
            try inflateSlice(UnsafeRawBufferPointer(start: base + offset, count: count), into: sink)
            offset += count
        }
    }

    /// `decompress(_:into:)` for any contiguous or non-contiguous byte collection.
    public func decompress(_ input: some Collection<UInt8>, into sink: ByteSink) throws {
        try withContiguousBytes(of: input) { try decompress($0, into: sink) }
    }

    /// Ends the stream: throws `LayerCodecError.truncated` unless the input ended right after a
    /// complete member (an empty input is truncated too: it is not a gzip file).
    public func finish() throws(LayerCodecError) {
        guard !finished else { return }
        finished = true
        guard sawInput, atMemberEnd else { throw .truncated(.gzip) }
    }

    private func inflateSlice(_ input: UnsafeRawBufferPointer, into sink: ByteSink) throws {
        if atMemberEnd {
            // More input after a complete member: it must be the next member.
            try reset()
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        defer {
            consumedByteCount += UInt64(input.count) - UInt64(stream.pointee.avail_in)
            // The caller's buffer is only lent for this call.
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        while true {
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let result = inflate(stream, Z_NO_FLUSH)
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 {
                producedByteCount += UInt64(produced)
                try sink(UnsafeRawBufferPointer(start: output.baseAddress, count: produced))
            }
            switch result {
            case Z_STREAM_END:
                memberCount += 1
                guard stream.pointee.avail_in > 0 else {
                    atMemberEnd = true
                    return
                }
                try reset()
            case Z_OK:
                // A full output buffer may hide more pending output: go round again.
                if stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 { return }
            case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                // No progress without more input: not an error in a stream fed in chunks.
                return
            case Z_DATA_ERROR, Z_NEED_DICT:
                throw LayerCodecError.corrupt(.gzip, detail: message(default: "invalid deflate data"))
            case Z_MEM_ERROR:
                throw LayerCodecError.outOfMemory(.gzip)
            default:
                throw LayerCodecError.library(.gzip, code: Int(result), detail: message(default: "inflate failed"))
            }
        }
    }

    private func reset() throws(LayerCodecError) {
        let result = inflateReset(stream)
        guard result == Z_OK else { throw .library(.gzip, code: Int(result), detail: "inflateReset failed") }
        atMemberEnd = false
    }

    private func message(default fallback: String) -> String {
        stream.pointee.msg.map { String(cString: $0) } ?? fallback
    }
}
