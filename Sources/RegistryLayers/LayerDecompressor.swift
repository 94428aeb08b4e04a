/// The decompressor a layer's media type calls for: gzip, zstd, or none (bytes pass through).
///
/// ```swift
/// let decompressor = try LayerDecompressor(mediaType: descriptor.mediaType)
/// var tar = TarReader()
/// for chunk in blobChunks {
///     try decompressor.decompress(chunk) { piece in try tar.feed(piece) { event in ... } }
/// }
/// try decompressor.finish()
/// try tar.finish()
/// ```
public final class LayerDecompressor {
    private enum Codec {
        case none
        case gzip(GzipDecompressor)
        case zstd(ZstdDecompressor)
    }

    private let codec: Codec
    public let compression: LayerCompression

    /// Compressed bytes consumed so far.
    public private(set) var consumedByteCount: UInt64 = 0

    /// Throws `LayerCodecError.unsupportedMediaType` for `.unsupported`.
    public init(compression: LayerCompression) throws(LayerCodecError) {
        switch compression {
        case .none: codec = .none
        case .gzip: codec = .gzip(try GzipDecompressor())
        case .zstd: codec = .zstd(try ZstdDecompressor())
        case .unsupported(let mediaType): throw .unsupportedMediaType(mediaType)
        }
        self.compression = compression
    }

    /// Throws `LayerCodecError.unsupportedMediaType` when the media type is not a layer type
    /// `LayerCompression` knows.
    public convenience init(mediaType: String) throws(LayerCodecError) {
        try self.init(compression: LayerCompression(mediaType: mediaType))
    }

    /// Uncompressed bytes handed to sinks so far.
    public var producedByteCount: UInt64 {
        switch codec {
        case .none: consumedByteCount
        case .gzip(let gzip): gzip.producedByteCount
        case .zstd(let zstd): zstd.producedByteCount
        }
    }

    /// Decompresses the next chunk; uncompressed input goes to the sink as given.
    public func decompress(_ input: UnsafeRawBufferPointer, into sink: ByteSink) throws {
        switch codec {
        case .none:
            if !input.isEmpty { try sink(input) }
        case .gzip(let gzip):
            try gzip.decompress(input, into: sink)
        case .zstd(let zstd):
            try zstd.decompress(input, into: sink)
        }
        consumedByteCount += UInt64(input.count)
    }

    /// `decompress(_:into:)` for any contiguous or non-contiguous byte collection.
    public func decompress(_ input: some Collection<UInt8>, into sink: ByteSink) throws {
        try withContiguousBytes(of: input) { try decompress($0, into: sink) }
    }

    /// Ends the stream: throws `LayerCodecError.truncated` when compressed input stopped inside
    /// a gzip member or zstd frame. Uncompressed input always ends cleanly here; whether the tar
    /// archive is complete is `TarReader.finish()`'s to say.
    public func finish() throws(LayerCodecError) {
        switch codec {
        case .none: break
        case .gzip(let gzip): try gzip.finish()
        case .zstd(let zstd): try zstd.finish()
        }
    }
}
