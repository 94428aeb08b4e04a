import Foundation
import RegistryModel
import RegistryStorage

/// The event notifications each operation writes (nothing when no endpoint is configured, or
/// none wants the event). Changes get their rows here and write them in their own transaction;
/// pulls, mounts and blob cache fills are queued.
extension Registry {
    /// A push by digest is one `manifest.pushed`; a push that sets tags is one `tag.pushed` per tag.
    func pushEvents(_ record: NewManifest, tags: [Tag], in repository: RepositoryName, actor: String?) -> [OutboxEvent] {
        guard let events, events.isWanted(.push, in: repository.value) else { return [] }
        let pushed = RegistryEvent(
            .manifestPushed, repository: repository, digest: record.digest, mediaType: record.mediaType,
            size: Int64(record.content.readableBytes), actor: actor)
        guard !tags.isEmpty else { return events.outboxEvents([pushed]) }
        return events.outboxEvents(tags.map { tag in
            var event = pushed
            event.kind = .tagPushed
            event.tag = tag
            return event
        })
    }

    /// `manifest.deleted`, with the manifest's type and size when it is still there to read.
    func manifestDeletionEvents(_ digest: Digest, in repository: RepositoryName, actor: String?) async -> [OutboxEvent] {
        guard let events, events.isWanted(.delete, in: repository.value) else { return [] }
        let manifest = try? await metadata.manifest(digest, in: repository)
        return events.outboxEvents([RegistryEvent(
            .manifestDeleted, repository: repository, digest: digest, mediaType: manifest?.mediaType,
            size: manifest.map { Int64($0.size) }, actor: actor)])
    }

    /// `tag.deleted`, naming the manifest the tag pointed at when the delete began.
    func tagDeletionEvents(_ tag: Tag, in repository: RepositoryName, actor: String?) async -> [OutboxEvent] {
        guard let events, events.isWanted(.delete, in: repository.value) else { return [] }
        let manifest = try? await metadata.manifest(taggedAs: tag, in: repository)
        return events.outboxEvents([RegistryEvent(
            .tagDeleted, repository: repository, digest: manifest?.digest, mediaType: manifest?.mediaType,
            size: manifest.map { Int64($0.size) }, tag: tag, actor: actor)])
    }

    func repositoryDeletionEvents(_ repository: RepositoryName, actor: String?) -> [OutboxEvent] {
        events?.outboxEvents([RegistryEvent(.repositoryDeleted, repository: repository, actor: actor)]) ?? []
    }

    /// `manifest.cached`: the pull-through cache stored an upstream's manifest (and moved `tag`).
    func cacheFillEvents(_ record: NewManifest, tag: Tag?, in repository: RepositoryName) -> [OutboxEvent] {
        events?.outboxEvents([RegistryEvent(
            .manifestCached, repository: repository, digest: record.digest, mediaType: record.mediaType,
            size: Int64(record.content.readableBytes), tag: tag)]) ?? []
    }

    /// Notes that a client received a manifest's content (`GET`; a `HEAD` is not a pull). Queued:
    /// the pull does not wait for a write.
    public func recordPull(of manifest: StoredManifest, reference: Reference, in repository: RepositoryName, actor: String?) {
        guard let events else { return }
        var tag: Tag?
        if case .tag(let pulled) = reference { tag = pulled }
        events.record(RegistryEvent(
            .manifestPulled, repository: repository, digest: manifest.digest, mediaType: manifest.mediaType,
            size: Int64(manifest.size), tag: tag, actor: actor))
    }

    func recordMount(_ digest: Digest, size: Int64?, from source: RepositoryName?, into repository: RepositoryName, actor: String?) {
        events?.record(RegistryEvent(.blobMounted, repository: repository, digest: digest, size: size, actor: actor, from: source))
    }

    func recordBlobCached(_ digest: Digest, size: Int64, in repository: RepositoryName) {
        events?.record(RegistryEvent(.blobCached, repository: repository, digest: digest, size: size))
    }
}
