import Foundation
import RegistryModel

/// One manifest that references a blob (as a layer, its config or a child manifest), with the
/// tags that name it: directly, or through an index that lists it.
public struct BlobUse: Sendable, Equatable, Codable {
    public var repository: RepositoryName
    public var manifest: Digest
    public var tags: [Tag]

    public init(repository: RepositoryName, manifest: Digest, tags: [Tag]) {
        self.repository = repository
        self.manifest = manifest
        self.tags = tags
    }
}

/// What decompressing a layer established: the digest of its uncompressed tar (the `diff_id`
/// an image's config lists) and that tar's size. True for as long as the digest exists, since
/// a digest names one content: kept even after the blob is collected.
public struct LayerFacts: Sendable, Equatable, Codable {
    /// The layer's distribution digest: of the compressed blob the registry stores.
    public var digest: Digest
    public var diffID: Digest
    public var uncompressedSize: Int64
    public var verifiedAt: Date

    public init(digest: Digest, diffID: Digest, uncompressedSize: Int64, verifiedAt: Date) {
        self.digest = digest
        self.diffID = diffID
        self.uncompressedSize = uncompressedSize
        self.verifiedAt = verifiedAt
    }
}

/// The questions `registry inspect` and the web UI ask about images beyond the distribution API:
/// which images share a layer, and what verifying layers found.
public protocol ImageCatalogStore: Sendable {
    /// The manifests in any repository that reference `digest`, by repository then manifest
    /// digest, at most `limit`.
    func uses(of digest: Digest, limit: Int) async throws -> [BlobUse]
    /// The facts recorded for those of `digests` that were verified.
    func layerFacts(_ digests: [Digest]) async throws -> [Digest: LayerFacts]
    /// Records (or replaces) what verifying a layer found.
    func recordLayerFacts(_ facts: LayerFacts) async throws
}

extension BlobUse {
    /// Parses a row's tag column: names separated by spaces (a tag cannot hold one).
    static func tags(fromSpaceSeparated text: String?) -> [Tag] {
        (text ?? "").split(separator: " ").compactMap { Tag(String($0)) }
    }
}

/// Not cached: these reads are rare (a page view, an inspect), and their answers span
/// repositories, which the cache is organised by.
extension Metadata: ImageCatalogStore {
    public func uses(of digest: Digest, limit: Int) async throws -> [BlobUse] {
        try await base.uses(of: digest, limit: limit)
    }

    public func layerFacts(_ digests: [Digest]) async throws -> [Digest: LayerFacts] {
        try await base.layerFacts(digests)
    }

    public func recordLayerFacts(_ facts: LayerFacts) async throws {
        try await base.recordLayerFacts(facts)
    }
}
