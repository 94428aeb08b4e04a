/// Why compressing or decompressing a layer failed.
///
/// The codecs' `decompress`/`compress`/`finish` functions throw these, or whatever error the
/// caller's sink closure throws, unchanged.
public enum LayerCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The codec a failure comes from.
    public enum Codec: String, Sendable, Hashable {
        case gzip
        case zstd
    }

    /// The compressed data is invalid; `detail` is the library's message (zlib's `msg`,
    /// `ZSTD_getErrorName`).
    case corrupt(Codec, detail: String)
    /// The data ended inside a gzip member or zstd frame, or there was no data at all.
    case truncated(Codec)
    /// The media type names no compression this library reads.
    case unsupportedMediaType(String)
    /// A zstd frame needs a larger window than the decoder allows (`ZSTD_d_windowLogMax`, 128 MiB
    /// by default): refused rather than allocating what the data asks for.
    case memoryLimitExceeded(Codec, detail: String)
    /// The C library could not allocate its state.
    case outOfMemory(Codec)
    /// A compression level outside 0...9.
    case invalidLevel(Int)
    /// `compress` or `decompress` was called after `finish`.
    case alreadyFinished(Codec)
    /// Any other failure the C library reports (not expected in practice).
    case library(Codec, code: Int, detail: String)

    public var description: String {
        switch self {
        case .corrupt(let codec, let detail):
            "corrupt \(codec.rawValue) data: \(detail)"
        case .truncated(let codec):
            "truncated \(codec.rawValue) data: the input ended inside a \(codec == .gzip ? "member" : "frame")"
        case .unsupportedMediaType(let mediaType):
            "unsupported layer media type '\(mediaType)'"
        case .memoryLimitExceeded(let codec, let detail):
            "\(codec.rawValue) data needs more memory than allowed: \(detail)"
        case .outOfMemory(let codec):
            "\(codec.rawValue): out of memory"
        case .invalidLevel(let level):
            "invalid compression level \(level): must be 0...9"
        case .alreadyFinished(let codec):
            "\(codec.rawValue) stream used after finish()"
        case .library(let codec, let code, let detail):
            "\(codec.rawValue) library error \(code): \(detail)"
        }
    }
}
