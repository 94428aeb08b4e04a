import RegistryModel
import RegistryStorage

extension Registry {
    /// The manifests that use a blob (a layer, a config, a child manifest) in the repositories
    /// `isVisible` admits, at most `limit`; empty where the metadata store keeps no references.
    /// Which repositories a caller may see is the caller's policy (``AccessControl``): this only
    /// applies it.
    public func uses(of digest: Digest, limit: Int, visibleTo isVisible: (RepositoryName) -> Bool) async throws -> [BlobUse] {
        guard let catalog = metadata as? any ImageCatalogStore else { return [] }
        return try await catalog.uses(of: digest, limit: limit).filter { isVisible($0.repository) }
    }

    /// What verifying these layers found, for those that were verified.
    public func layerFacts(_ digests: [Digest]) async throws -> [Digest: LayerFacts] {
        guard let catalog = metadata as? any ImageCatalogStore else { return [:] }
        return try await catalog.layerFacts(digests)
    }

    /// Remembers what verifying a layer found, for pages that show uncompressed sizes.
    public func recordLayerFacts(_ facts: LayerFacts) async throws {
        guard let catalog = metadata as? any ImageCatalogStore else { return }
        try await catalog.recordLayerFacts(facts)
    }

    /// A page of repositories whose name contains `text`, after `last`, among those `isVisible`
    /// admits (pages are read until `limit` visible ones are found or none are left).
    public func repositorySummaries(
        containing text: String?, after last: String?, limit: Int, visibleTo isVisible: (RepositoryName) -> Bool
    ) async throws -> (items: [RepositorySummary], hasMore: Bool) {
        guard let catalog = metadata as? any ImageCatalogStore else { return ([], false) }
        var visible: [RepositorySummary] = []
        var cursor = last
        while visible.count <= limit {
            let page = try await catalog.repositorySummaries(containing: text, after: cursor, limit: limit + 1)
            visible += page.filter { isVisible($0.figures.name) }
            guard page.count == limit + 1, let next = page.last?.figures.name.value else { break }
            cursor = next
        }
        return (Array(visible.prefix(limit)), visible.count > limit)
    }

    /// A page of the repository's tags with their manifests.
    public func tagDetails(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [TagDetail] {
        guard let catalog = metadata as? any ImageCatalogStore else { return [] }
        return try await catalog.tagDetails(in: repository, after: last, limit: limit)
    }

    /// The repository's untagged top-level manifests, newest first.
    public func untaggedManifests(in repository: RepositoryName, limit: Int) async throws -> [UntaggedManifest] {
        guard let catalog = metadata as? any ImageCatalogStore else { return [] }
        return try await catalog.untaggedManifests(in: repository, limit: limit)
    }

    /// The registry-wide figures (stored bytes, bytes saved by sharing); nil where the metadata
    /// store cannot add them up.
    public func storageTotals() async throws -> StorageTotals? {
        try await (metadata as? any StorageTotalsSource)?.storageTotals()
    }
}
