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
}
