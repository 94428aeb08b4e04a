import RegistryModel

/// How a layer's tar archive is compressed, as its media type says.
public enum LayerCompression: Sendable, Hashable, CustomStringConvertible {
    /// A plain tar archive.
    case none
    case gzip
    case zstd
    /// Not a layer media type this library reads; carries the media type as given.
    case unsupported(mediaType: String)

    /// The compression a layer media type names. Parameters and letter case are ignored
    /// (`MediaType.essence(of:)`), so `application/vnd.oci.image.layer.v1.tar+gzip; x=y` is gzip.
    public init(mediaType: String) {
        switch MediaType.essence(of: mediaType) {
        case MediaType.ociLayer, MediaType.ociNondistributableLayer:
            self = .none
        case MediaType.ociLayerGzip, MediaType.ociNondistributableLayerGzip,
             MediaType.dockerLayerGzip, MediaType.dockerForeignLayerGzip:
            self = .gzip
        case MediaType.ociLayerZstd, MediaType.ociNondistributableLayerZstd:
            self = .zstd
        default:
            self = .unsupported(mediaType: mediaType)
        }
    }

    /// The compression the first bytes of a blob show: the gzip (`1f 8b`) or zstd
    /// (`28 b5 2f fd`) magic number, else `.none`. For checking a blob against the media type its
    /// manifest gives; four bytes are enough, fewer answer `.none` unless they already match gzip.
    public static func detect(prefix: some Collection<UInt8>) -> LayerCompression {
        if prefix.starts(with: gzipMagic) { return .gzip }
        if prefix.starts(with: zstdMagic) { return .zstd }
        return .none
    }

    /// Whether `LayerDecompressor` can read this compression.
    public var isSupported: Bool {
        if case .unsupported = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .gzip: "gzip"
        case .zstd: "zstd"
        case .unsupported(let mediaType): "unsupported (\(mediaType))"
        }
    }

    private static let gzipMagic: [UInt8] = [0x1F, 0x8B]
    private static let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
}
