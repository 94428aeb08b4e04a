import Logging
import NIOCore
import RegistryModel
import RegistryStorage

/// The registry's semantics, independent of HTTP: what may be read, written and deleted, and
/// how uploads, manifests, tags and referrers behave. Handlers call it; it calls the stores.
public final class Registry: Sendable {
    public let options: RegistryOptions
    let metadata: any MetadataStore
    let blobs: any BlobStore
    let uploads: any UploadStore
    let sessions = UploadSessionTable()
    let logger: Logger
    /// Notes pulls and blob uses for retention and garbage collection; nil records nothing.
    let uses: UseRecorder?
    /// The upstreams whose namespaces this registry caches; nil when it caches none.
    public let proxy: PullThroughCache?
    /// Holds `/readyz` at not ready while free space is under ``RegistryOptions/minimumFreeSpace``.
    let freeSpace: FreeSpaceWatch
    /// Where uploads, pull-through cache hits and upstream failures are counted.
    public let metrics: RegistryMetrics
    /// Counts and announces repositories crossing their quota's warning share.
    public let quotaWarnings = QuotaWarnings()
    /// Writes event notifications to the outbox; nil when no endpoint is configured.
    let events: EventRecorder?

    public init(
        metadata: any MetadataStore, blobs: any BlobStore, uploads: any UploadStore,
        options: RegistryOptions, logger: Logger, uses: UseRecorder? = nil, proxy: PullThroughCache? = nil,
        metrics: RegistryMetrics = .disabled, events: EventRecorder? = nil
    ) {
        self.events = events
        self.metrics = metrics
        self.proxy = proxy
        self.metadata = metadata
        self.blobs = blobs
        self.uploads = uploads
        self.options = options
        self.logger = logger
        self.uses = uses
        self.freeSpace = FreeSpaceWatch(floor: options.minimumFreeSpace, logger: logger)
        quotaWarnings.onWarning { [events] warning in
            metrics.quotaWarning()
            events?.record(RegistryEvent(
                .quotaWarning, repository: warning.repository,
                quota: .init(name: warning.quota.name, used: warning.used, limit: warning.quota.limit)))
        }
    }

    /// Throws `UNSUPPORTED` when the registry is read-only.
    func requireWritable() throws(RegistryError) {
        if options.readOnly {
            throw RegistryError(.unsupported, message: "the registry is read-only")
        }
    }

    /// Throws `UNSUPPORTED` when the registry is read-only or `repository` is a cached upstream's.
    func requireWritable(_ repository: RepositoryName) throws(RegistryError) {
        try requireWritable()
        try requireNotProxied(repository)
    }

    func requireDeletesEnabled(_ repository: RepositoryName) throws(RegistryError) {
        try requireWritable(repository)
        if !options.deletesEnabled {
            throw RegistryError(.unsupported, message: "deletes are disabled on this registry")
        }
    }

    /// Liveness of the stores, for `/readyz`: throws ``FreeSpaceBelowFloor`` while a writable
    /// registry's storage has less free space than ``RegistryOptions/minimumFreeSpace``.
    public func checkReady() async throws {
        try await metadata.checkReachable()
        if !options.readOnly {
            try await blobs.checkWritable()
            if !freeSpace.floor.isDisabled {
                try freeSpace.check(try await blobs.space())
            }
        }
    }
}

/// A page of a listing and whether more entries follow it.
public struct Page: Sendable, Equatable {
    public var items: [String]
    public var hasMore: Bool

    public init(items: [String], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }
}
