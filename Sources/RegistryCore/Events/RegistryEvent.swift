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
    public var time: Date

    public init(
        _ kind: EventKind, repository: RepositoryName, digest: Digest? = nil, mediaType: String? = nil, size: Int64? = nil,
        tag: Tag? = nil, actor: String? = nil, from: RepositoryName? = nil, quota: QuotaFigures? = nil, time: Date = Date()
    ) {
        self.quota = quota
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
