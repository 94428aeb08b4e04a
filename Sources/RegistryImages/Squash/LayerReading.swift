import NIOCore
import RegistryLayers
import RegistryModel

extension ImageSource {
    /// Streams a layer's tar to `handle`, an event at a time: the blob is hashed (and must match
    /// its digest) and decompressed on the way, in bounded memory. Returns the tar's size.
    @discardableResult
    func readTar(_ layer: Descriptor, in repository: RepositoryName, _ handle: (TarEvent) throws -> Void) async throws -> Int64 {
        let decompressor = try LayerDecompressor(mediaType: layer.mediaType)
        var hasher = DigestHasher(algorithm: layer.digest.algorithm)
        var reader = TarReader()
        try await readBlob(layer.digest, in: repository) { buffer in
            try buffer.withUnsafeReadableBytes { bytes in
                hasher.update(bufferPointer: bytes)
                try decompressor.decompress(bytes) { piece in try reader.feed(piece, handle) }
            }
        }
        try decompressor.finish()
        try reader.finish()
        let actual = hasher.finalize()
        guard actual == layer.digest else { throw ImageInspectionError.digestMismatch(expected: layer.digest, actual: actual) }
        return Int64(decompressor.producedByteCount)
    }
}
