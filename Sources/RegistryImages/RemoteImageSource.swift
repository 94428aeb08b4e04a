import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import RegistryUpstream

/// Images of a registry reached over HTTP, through the distribution API with the logins it asks
/// for. Sharing and verification facts come from this program's `/v2/_layers/DIGEST` endpoint,
/// so they are known only when the registry is one of ours (and only for the repositories the
/// credentials may pull).
public struct RemoteImageSource: ImageSource {
    public let client: UpstreamClient
    public var location: String { client.baseURL }

    public init(client: UpstreamClient) {
        self.client = client
    }

    public func manifest(_ reference: Reference, in repository: RepositoryName) async throws -> SourceManifest {
        guard let fetched = try await client.manifest(reference, in: repository) else {
            throw ImageInspectionError.manifestNotFound("\(repository):\(reference)")
        }
        let mediaType = fetched.mediaType ?? (try? fetched.parsed().mediaType) ?? "application/octet-stream"
        return SourceManifest(bytes: fetched.bytes, digest: fetched.digest, mediaType: mediaType)
    }

    public func readBlob(_ digest: Digest, in repository: RepositoryName, _ body: (ByteBuffer) async throws -> Void) async throws {
        guard let response = try await client.blob(digest, in: repository) else { throw ImageInspectionError.blobNotFound(digest) }
        for try await buffer in response.body {
            try await body(buffer)
        }
    }

    public func layerDocument(_ digest: Digest, in repository: RepositoryName) async throws -> LayerDocument? {
        guard let bytes = try await client.extensionDocument("/v2/_layers/\(digest)", pulling: repository) else { return nil }
        return try? LayerDocument.decoder.decode(LayerDocument.self, from: Data(bytes))
    }

    /// Nothing to record: a remote registry verifies for itself (`registry scrub --diff-ids`).
    public func recordLayerFacts(_ facts: LayerFacts) async throws {}
}
