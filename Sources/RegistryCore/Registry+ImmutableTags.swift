import RegistryModel
import RegistryStorage

/// How ``RegistryOptions/immutableTags`` guard the metadata writes: the rules, applied to one
/// caller, become the write's ``FrozenTags``, which the store checks inside the write's
/// transaction. No check happens before it, so two pushes of the same new tag at the same
/// instant, or a push racing a delete, on one replica or on two, cannot both get through.
extension Registry {
    /// Runs a metadata write that must leave the tags the rules protect in `repository` as they
    /// are, and turns a refused change into the rule's `409 DENIED`. `isAdmin` is whether the
    /// caller is an admin (``AccessControl/isAdmin(_:)``), which lets it through rules that
    /// allow admins to override them.
    func keepingImmutableTags<T>(
        in repository: RepositoryName, isAdmin: Bool, change: ImmutableTagChange, _ write: (FrozenTags) async throws -> T
    ) async throws -> T {
        let rules = options.immutableTags
        guard rules.covers(repository) else { return try await write(.none) }
        let frozen = FrozenTags { tag in
            guard let rule = rules.rule(protecting: tag, in: repository) else { return false }
            return !(isAdmin && rule.adminsMayOverride)
        }
        do {
            return try await write(frozen)
        } catch let refused as FrozenTagChange {
            try rules.requireChangeable(refused.tag, in: repository, change: change, isAdmin: isAdmin)
            throw refused  // Unreachable: the store only refuses tags `frozen` holds.
        }
    }
}
