import Foundation
import RegistryModel

/// What a pull-through cache's size budget needs from the metadata store: how much the cached
/// repositories hold, which images they hold, and a way to drop one image atomically.
public protocol CacheEvictionStore: Sendable {
    /// Distinct bytes of the blobs linked into repositories whose names start with one of
    /// `prefixes` (each ending in `/`).
    func cachedBytes(under prefixes: [String]) async throws -> Int64

    /// The cached images: every manifest of those repositories that no other manifest of its
    /// repository references (tagged images, untagged ones, indexes; not an index's children).
    func cacheEntries(under prefixes: [String]) async throws -> [CacheEntry]

    /// Drops one image in one transaction: the manifest, its tags, the child manifests nothing
    /// else references, the repository's links to blobs no remaining manifest of it references
    /// (except `protected` ones), and the blobs no repository links or references any more.
    /// The blobs' files go afterwards through `disposing`, as in collections (tombstones first).
    func evict(
        _ entry: CacheEntry, protecting protected: Set<Digest>,
        disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> [BlobRecord]
}

/// One cached image and when it was last used (pulled by tag, pushed, or fetched).
public struct CacheEntry: Sendable, Equatable {
    public var repository: RepositoryName
    public var digest: Digest
    public var lastUsed: Date

    public init(repository: RepositoryName, digest: Digest, lastUsed: Date) {
        self.repository = repository
        self.digest = digest
        self.lastUsed = lastUsed
    }
}
