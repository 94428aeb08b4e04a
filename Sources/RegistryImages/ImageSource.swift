import NIOCore
import RegistryModel
import RegistryStorage

/// A manifest as a source holds it: its exact bytes, their digest and media type.
public struct SourceManifest: Sendable {
    public var bytes: [UInt8]
    public var digest: Digest
    public var mediaType: String

    public init(bytes: [UInt8], digest: Digest, mediaType: String) {
        self.bytes = bytes
        self.digest = digest
        self.mediaType = mediaType
    }
}

/// Where images are read from: a registry over HTTP (``RemoteImageSource``) or a storage root
/// (``RootImageSource``). Inspecting, verifying and squashing only read through this.
public protocol ImageSource: Sendable {
    /// How reports name the source: `127.0.0.1:5000`, or the root's path.
    var location: String { get }
    /// A manifest by tag or digest, whatever its media type; ``ImageInspectionError/manifestNotFound(_:)``
    /// when there is none.
    func manifest(_ reference: Reference, in repository: RepositoryName) async throws -> SourceManifest
    /// Streams a blob's bytes to `body`, a buffer at a time, as stored (not verified here);
    /// ``ImageInspectionError/blobNotFound(_:)`` when the repository has no such blob.
    func readBlob(_ digest: Digest, in repository: RepositoryName, _ body: (ByteBuffer) async throws -> Void) async throws
    /// The manifests across the registry that use a blob and what verifying it found; nil when
    /// the source cannot tell (a registry that is not this one).
    func layerDocument(_ digest: Digest, in repository: RepositoryName) async throws -> LayerDocument?
    /// Remembers what verifying a layer found, where the source can (a root's metadata).
    func recordLayerFacts(_ facts: LayerFacts) async throws
}

extension ImageSource {
    /// A blob read whole, for configurations: refused past `limit` bytes, checked against its digest.
    public func blobBytes(_ digest: Digest, in repository: RepositoryName, limit: Int = ImageConfiguration.sizeLimit) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        var hasher = DigestHasher(algorithm: digest.algorithm)
        try await readBlob(digest, in: repository) { buffer in
            guard bytes.count + buffer.readableBytes <= limit else { throw ImageInspectionError.tooLarge(digest, limit: limit) }
            buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        let actual = hasher.finalize()
        guard actual == digest else { throw ImageInspectionError.digestMismatch(expected: digest, actual: actual) }
        return bytes
    }
}

/// One image a manifest stands for: its exact bytes, parsed, and the index entry that lists it
/// (nil for a manifest that is itself the image).
struct SourceImage {
    var entry: Descriptor?
    var fetched: SourceManifest
    var manifest: Manifest
}

extension ImageSource {
    /// The images a manifest stands for: itself, or an index's image entries. buildx's
    /// attestations, nested indexes and artifacts without a config are left out: they are
    /// nothing to run.
    func images(of top: SourceManifest, _ manifest: Manifest, in repository: RepositoryName) async throws -> [SourceImage] {
        guard manifest.kind == .index else { return [SourceImage(entry: nil, fetched: top, manifest: manifest)] }
        var images: [SourceImage] = []
        for entry in manifest.manifests where entry.annotations?[ImageInspector.referenceTypeAnnotation] == nil {
            let child = try await self.manifest(.digest(entry.digest), in: repository)
            let parsed = try ImageInspector.parse(child)
            if parsed.kind == .image, parsed.config != nil { images.append(SourceImage(entry: entry, fetched: child, manifest: parsed)) }
        }
        return images
    }
}
