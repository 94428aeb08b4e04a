import NIOCore
import RegistryCore
import RegistryModel
import RegistryStorage

/// Images of a ``Registry`` read in process: a storage root opened by the CLI, or the serving
/// registry itself (for the web UI). Sees every repository; callers that serve users filter
/// what they show by the users' rights.
public struct RootImageSource: ImageSource {
    public let registry: Registry
    public let location: String
    /// Which repositories sharing reports may name (the web UI: those the viewer may pull).
    let isVisible: @Sendable (RepositoryName) -> Bool
    private static let anyManifest = AcceptedMediaTypes(headerLines: [String]())

    public init(registry: Registry, location: String, visibleTo isVisible: @escaping @Sendable (RepositoryName) -> Bool = { _ in true }) {
        self.registry = registry
        self.location = location
        self.isVisible = isVisible
    }

    public func manifest(_ reference: Reference, in repository: RepositoryName) async throws -> SourceManifest {
        let stored: StoredManifest
        do {
            stored = try await registry.manifest(reference, in: repository, accepting: Self.anyManifest)
        } catch let error as RegistryError where error.code == .manifestUnknown || error.code == .nameUnknown {
            throw ImageInspectionError.manifestNotFound("\(repository):\(reference)")
        }
        return SourceManifest(bytes: Array(stored.content.readableBytesView), digest: stored.digest, mediaType: stored.mediaType)
    }

    public func readBlob(_ digest: Digest, in repository: RepositoryName, _ body: (ByteBuffer) async throws -> Void) async throws {
        let reader: any BlobReader
        do {
            reader = try await registry.openBlob(digest, in: repository)
        } catch let error as RegistryError where error.code == .blobUnknown || error.code == .nameUnknown {
            throw ImageInspectionError.blobNotFound(digest)
        }
        do {
            for try await buffer in reader.chunks(in: 0..<reader.size, chunkSize: 1 << 20) {
                try await body(buffer)
            }
        } catch {
            try? await reader.close()
            throw error
        }
        try await reader.close()
    }

    public func layerDocument(_ digest: Digest, in repository: RepositoryName) async throws -> LayerDocument? {
        try await registry.layerDocument(digest, visibleTo: isVisible)
    }

    public func recordLayerFacts(_ facts: LayerFacts) async throws {
        try await registry.recordLayerFacts(facts)
    }
}
