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

    public func uses(of digest: Digest, in repository: RepositoryName) async throws -> [BlobUse]? {
        try await document(digest, in: repository)?.uses
    }

    public func layerFacts(_ digests: [Digest], in repository: RepositoryName) async throws -> [Digest: LayerFacts] {
        var facts: [Digest: LayerFacts] = [:]
        for digest in digests {
            if let found = try await document(digest, in: repository)?.facts { facts[digest] = found }
        }
        return facts
    }

    /// Nothing to record: a remote registry verifies for itself (`registry scrub --diff-ids`).
    public func recordLayerFacts(_ facts: LayerFacts) async throws {}

    private func document(_ digest: Digest, in repository: RepositoryName) async throws -> LayerDocument? {
        guard let bytes = try await client.extensionDocument("/v2/_layers/\(digest)", pulling: repository) else { return nil }
        return try? LayerDocument.decoder.decode(LayerDocument.self, from: Data(bytes))
    }
}

/// The JSON of `GET /v2/_layers/DIGEST`: what the registry knows of one blob beyond the API.
public struct LayerDocument: Sendable, Codable, Equatable {
    public var digest: Digest
    public var facts: LayerFacts?
    /// The manifests using it, in the repositories the caller may pull.
    public var uses: [BlobUse]

    public init(digest: Digest, facts: LayerFacts?, uses: [BlobUse]) {
        self.digest = digest
        self.facts = facts
        self.uses = uses
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
