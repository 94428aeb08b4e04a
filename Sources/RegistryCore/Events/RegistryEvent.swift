import Foundation
import RegistryModel

/// Something that happened in the registry, as an event's `data` describes it.
public struct RegistryEvent: Sendable, Equatable {
    /// What a `repository.quota_warning` reports: the quota's name, the bytes stored and the limit.
    public struct QuotaFigures: Sendable, Equatable {
        public var name: String
        public var used: Int64
        public var limit: Int64

        public init(name: String, used: Int64, limit: Int64) {
            self.name = name
            self.used = used
            self.limit = limit
        }
    }

    public var kind: EventKind
    public var repository: RepositoryName
    public var digest: Digest?
    public var mediaType: String?
    public var size: Int64?
    public var tag: Tag?
    /// The user (or robot) who did it; nil for anonymous requests and the registry's own work.
    public var actor: String?
    /// A mount's source repository.
    public var from: RepositoryName?
    /// A quota warning's figures.
    public var quota: QuotaFigures?
    /// Why the registry deleted something on its own; nil for what a request did.
    public var reason: DeletionReason?
    public var time: Date

    /// What made the registry delete a tag, manifest or repository that no request deleted.
    public enum DeletionReason: String, Sendable {
        /// A retention rule's `keep_*` criteria let the tag go.
        case retention
        /// Garbage collection swept an untagged manifest, or a repository left with nothing.
        case garbageCollection = "garbage-collection"
    }

    public init(
        _ kind: EventKind, repository: RepositoryName, digest: Digest? = nil, mediaType: String? = nil, size: Int64? = nil,
        tag: Tag? = nil, actor: String? = nil, from: RepositoryName? = nil, quota: QuotaFigures? = nil,
        reason: DeletionReason? = nil, time: Date = Date()
    ) {
        self.quota = quota
        self.reason = reason
        self.kind = kind
        self.repository = repository
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.tag = tag
        self.actor = actor
        self.from = from
        self.time = time
    }

    /// CloudEvents `subject`: `repo:tag` when a tag is concerned, `repo@digest` for a manifest
    /// or blob, the repository alone otherwise.
    public var subject: String {
        if let tag { return "\(repository):\(tag.value)" }
        if let digest { return "\(repository)@\(digest)" }
        return repository.value
    }
}
