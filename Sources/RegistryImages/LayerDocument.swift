import Foundation
import RegistryCore
import RegistryModel
import RegistryStorage

/// The JSON of `GET /v2/_layers/DIGEST`: what the registry knows of one blob beyond the API.
public struct LayerDocument: Sendable, Codable, Equatable {
    /// How many uses of one blob a document lists.
    public static let useLimit = 100

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

extension Registry {
    /// What the registry knows of a blob beyond the API, as `GET /v2/_layers/DIGEST` serves it
    /// and `inspect --root` reads it: its uses in the repositories `isVisible` admits, and what
    /// verifying it found (only when some use is visible, so that a caller learns nothing of a
    /// blob it cannot reach).
    public func layerDocument(_ digest: Digest, visibleTo isVisible: (RepositoryName) -> Bool) async throws -> LayerDocument {
        let uses = try await uses(of: digest, limit: LayerDocument.useLimit, visibleTo: isVisible)
        let facts = uses.isEmpty ? nil : try await layerFacts([digest])[digest]
        return LayerDocument(digest: digest, facts: facts, uses: uses)
    }
}
