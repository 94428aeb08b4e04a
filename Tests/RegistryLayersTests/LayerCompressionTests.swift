import RegistryLayers
import RegistryModel
import Testing

@Suite("Layer compression from media types")
struct LayerCompressionTests {
    @Test(arguments: [
        (MediaType.ociLayer, LayerCompression.none),
        (MediaType.ociLayerGzip, .gzip),
        (MediaType.ociLayerZstd, .zstd),
        (MediaType.ociNondistributableLayer, .none),
        (MediaType.ociNondistributableLayerGzip, .gzip),
        (MediaType.ociNondistributableLayerZstd, .zstd),
        (MediaType.dockerLayerGzip, .gzip),
        (MediaType.dockerForeignLayerGzip, .gzip),
    ])
    func layerMediaTypes(_ mediaType: String, _ expected: LayerCompression) {
        #expect(LayerCompression(mediaType: mediaType) == expected)
        #expect(LayerCompression(mediaType: mediaType).isSupported)
    }

    @Test func parametersAndCaseAreIgnored() {
        #expect(LayerCompression(mediaType: "Application/VND.OCI.Image.Layer.v1.tar+GZIP ; foo=bar") == .gzip)
        #expect(LayerCompression(mediaType: " application/vnd.oci.image.layer.v1.tar") == .none)
    }

    @Test(arguments: [
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.oci.image.layer.v1.tar+bzip2",
        "application/octet-stream",
        "",
    ])
    func otherMediaTypesAreUnsupported(_ mediaType: String) {
        let compression = LayerCompression(mediaType: mediaType)
        #expect(compression == .unsupported(mediaType: mediaType))
        #expect(!compression.isSupported)
        #expect(throws: LayerCodecError.unsupportedMediaType(mediaType)) { try LayerDecompressor(mediaType: mediaType) }
    }

    @Test func detectsCompressionFromMagicNumbers() {
        #expect(LayerCompression.detect(prefix: [0x1F, 0x8B, 0x08, 0x00]) == .gzip)
        #expect(LayerCompression.detect(prefix: [0x28, 0xB5, 0x2F, 0xFD, 0x04]) == .zstd)
        #expect(LayerCompression.detect(prefix: Array("ustar".utf8)) == .none)
        #expect(LayerCompression.detect(prefix: [0x28, 0xB5]) == .none)
        #expect(LayerCompression.detect(prefix: []) == .none)
    }

    @Test func uncompressedLayersPassThrough() throws {
        let data = Fixtures.bytes(count: 10_000)
        let decompressor = try LayerDecompressor(mediaType: MediaType.ociLayer)
        #expect(try decompress(data, with: decompressor, chunkSize: 777) == data)
        #expect(decompressor.consumedByteCount == 10_000)
        #expect(decompressor.producedByteCount == 10_000)
    }
}
