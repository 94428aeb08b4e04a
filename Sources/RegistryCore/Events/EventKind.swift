/// What endpoints filter on: the class of an event.
public enum EventAction: String, Sendable, CaseIterable, Hashable {
    case push, pull, delete, mount
    /// The pull-through cache stored something fetched from its upstream.
    case cache
    /// A repository reached the warning level of its storage quota.
    case quota
}

/// Every event the registry sends, with its CloudEvents `type`.
public enum EventKind: String, Sendable, CaseIterable {
    /// A manifest pushed by digest.
    case manifestPushed = "manifest.pushed"
    /// A tag pointed at a manifest by a push (one event per tag the push set).
    case tagPushed = "tag.pushed"
    /// A manifest's content served by `GET` (a `HEAD` is not a pull).
    case manifestPulled = "manifest.pulled"
    case manifestDeleted = "manifest.deleted"
    case tagDeleted = "tag.deleted"
    case repositoryDeleted = "repository.deleted"
    /// A blob made readable in a repository without an upload (a cross-repository mount).
    case blobMounted = "blob.mounted"
    /// The pull-through cache stored an upstream's manifest or blob.
    case manifestCached = "manifest.cached"
    case blobCached = "blob.cached"
    /// A write took a repository's stored bytes to `quotas.warn_percent` of its quota or past it.
    case quotaWarning = "repository.quota_warning"

    /// The prefix of every CloudEvents `type` this registry sends.
    public static let typePrefix = "io.github.swift-oci-registry."

    public var type: String { Self.typePrefix + rawValue }

    public var action: EventAction {
        switch self {
        case .manifestPushed, .tagPushed: .push
        case .manifestPulled: .pull
        case .manifestDeleted, .tagDeleted, .repositoryDeleted: .delete
        case .blobMounted: .mount
        case .manifestCached, .blobCached: .cache
        case .quotaWarning: .quota
        }
    }
}
