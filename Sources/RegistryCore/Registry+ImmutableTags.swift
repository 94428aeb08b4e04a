import RegistryModel
import RegistryStorage

/// The checks behind ``RegistryOptions/immutableTags``, made before the metadata write they
/// guard. `isAdmin` is whether the caller is an admin (``AccessControl/isAdmin(_:)``), which
/// lets it through rules that allow admins to override them.
///
/// Not inside the write's transaction: a tag pushed for the first time by two clients at the
/// same instant, with different manifests, can end on the second one (both saw no tag yet), and
/// a tag pushed while its manifest is being deleted can go with it. Once a protected tag exists
/// and this process (or, within the metadata cache's revalidation interval, another replica)
/// has seen it, every move or delete is refused.
extension Registry {
    /// Refuses moving any of `tags` that already point at another manifest than `digest`.
    func requireTagsMayMove(_ tags: [Tag], to digest: Digest, in repository: RepositoryName, isAdmin: Bool) async throws {
        let rules = options.immutableTags
        guard rules.covers(repository) else { return }
        for tag in tags where rules.rule(protecting: tag, in: repository) != nil {
            guard let current = try await metadata.manifest(taggedAs: tag, in: repository), current.digest != digest else { continue }
            try rules.requireChangeable(tag, in: repository, change: .moved, isAdmin: isAdmin)
        }
    }

    /// Refuses deleting `tag` when it exists and is protected.
    func requireTagMayGo(_ tag: Tag, in repository: RepositoryName, isAdmin: Bool) async throws {
        let rules = options.immutableTags
        guard rules.rule(protecting: tag, in: repository) != nil,
              try await metadata.manifest(taggedAs: tag, in: repository) != nil
        else { return }
        try rules.requireChangeable(tag, in: repository, change: .deleted, isAdmin: isAdmin)
    }

    /// Refuses deleting a manifest a protected tag points at (the tag would go with it).
    func requireManifestMayGo(_ digest: Digest, in repository: RepositoryName, isAdmin: Bool) async throws {
        let rules = options.immutableTags
        guard rules.covers(repository) else { return }
        for tag in try await metadata.tags(pointingAt: digest, in: repository) {
            try rules.requireChangeable(tag, in: repository, change: .deletedWithManifest, isAdmin: isAdmin)
        }
    }

    /// Refuses deleting a repository holding a protected tag.
    func requireRepositoryMayGo(_ repository: RepositoryName, isAdmin: Bool) async throws {
        let rules = options.immutableTags
        guard rules.covers(repository) else { return }
        var last: String?
        while let page = try await metadata.tags(in: repository, after: last, limit: 1000), !page.isEmpty {
            for tag in page.compactMap(Tag.init) {
                try rules.requireChangeable(tag, in: repository, change: .deletedWithRepository, isAdmin: isAdmin)
            }
            last = page.last
        }
    }
}
