import RegistryModel
import RegistryStorage

extension RegistryEvent {
    /// The events of what one step of a garbage collection deleted: `tag.deleted` (retention),
    /// `manifest.deleted` and `repository.deleted`, with no actor and the step's reason.
    static func events(of deletion: CollectionDeletion) -> [RegistryEvent] {
        switch deletion {
        case .tags(let repository, let records):
            records.map { RegistryEvent(.tagDeleted, repository: repository, digest: $0.manifest, tag: $0.tag, reason: .retention) }
        case .manifests(let repository, let digests):
            digests.map { RegistryEvent(.manifestDeleted, repository: repository, digest: $0, reason: .garbageCollection) }
        case .repositories(let repositories):
            repositories.map { RegistryEvent(.repositoryDeleted, repository: $0, reason: .garbageCollection) }
        }
    }
}
