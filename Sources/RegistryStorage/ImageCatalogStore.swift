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

/// A repository as the web UI lists it: its figures (as `registry du` counts them) and when a
/// manifest was last stored or a tag last moved (nil when neither ever happened).
public struct RepositorySummary: Sendable, Equatable {
    public var figures: UsageFigures.Repository
    public var lastPush: Date?

    public init(figures: UsageFigures.Repository, lastPush: Date?) {
        self.figures = figures
        self.lastPush = lastPush
    }
}

/// A tag as the web UI lists it: the manifest it names and when it moved and was last pulled.
public struct TagDetail: Sendable, Equatable {
    public var tag: Tag
    public var manifest: Digest
    public var mediaType: String
    /// The manifest's size in bytes.
    public var size: Int
    public var updatedAt: Date
    public var pulledAt: Date?

    public init(tag: Tag, manifest: Digest, mediaType: String, size: Int, updatedAt: Date, pulledAt: Date?) {
        self.tag = tag
        self.manifest = manifest
        self.mediaType = mediaType
        self.size = size
        self.updatedAt = updatedAt
        self.pulledAt = pulledAt
    }
}

/// A manifest no tag names, no index lists and that refers to no subject: an image left behind
/// by a tag that moved, or pushed by digest.
public struct UntaggedManifest: Sendable, Equatable {
    public var digest: Digest
    public var mediaType: String
    public var size: Int
    public var createdAt: Date

    public init(digest: Digest, mediaType: String, size: Int, createdAt: Date) {
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.createdAt = createdAt
    }
}

/// The questions `registry inspect` and the web UI ask about images beyond the distribution API:
/// which images share a layer, what verifying layers found, and pages of repositories and tags
/// with their figures.
public protocol ImageCatalogStore: Sendable {
    /// Repositories by name after `last` (at most `limit`) whose name contains `text` (all when
    /// nil), with their figures and last push.
    func repositorySummaries(containing text: String?, after last: String?, limit: Int) async throws -> [RepositorySummary]
    /// The repository's tags by name after `last`, at most `limit`.
    func tagDetails(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [TagDetail]
    /// The repository's untagged top-level manifests, newest first, at most `limit`.
    func untaggedManifests(in repository: RepositoryName, limit: Int) async throws -> [UntaggedManifest]
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
    public func repositorySummaries(containing text: String?, after last: String?, limit: Int) async throws -> [RepositorySummary] {
        try await base.repositorySummaries(containing: text, after: last, limit: limit)
    }

    public func tagDetails(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [TagDetail] {
        try await base.tagDetails(in: repository, after: last, limit: limit)
    }

    public func untaggedManifests(in repository: RepositoryName, limit: Int) async throws -> [UntaggedManifest] {
        try await base.untaggedManifests(in: repository, limit: limit)
    }

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
