import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RegistryModel

/// The registry's metadata: the one owner of a ``MetadataDatabase`` (SQLite or PostgreSQL), with
/// a read cache for the lookups every pull repeats (a manifest by tag or digest, a blob's size in
/// a repository, a page of tags). Everything that reads or writes metadata (requests, garbage
/// collection, scrubbing, the pull-through cache's budget, use recording) goes through it.
///
/// A hit answers without a database round trip (for SQLite, a thread-pool hop and a statement
/// prepared anew each time; for PostgreSQL, a network round trip). Coherence:
/// - a write through this store drops the cached entries it may have changed once it committed
///   (a repository's, or everything after maintenance that touched many repositories), and a
///   read that raced with any write does not fill the cache;
/// - writes by other processes (other replicas on the same PostgreSQL database, `registry`
///   maintenance commands on the same root) are noticed through the database's change counter,
///   checked at most every `revalidationInterval`; when it moved, everything is dropped. A tag
///   moved elsewhere is therefore served here within that interval.
/// Entries are bounded by `budget` bytes (manifest bodies dominate); past it the cache starts over.
public final class Metadata: MetadataStore, MetadataMaintenance, CacheEvictionStore, ExclusiveJobs {
    let base: any MetadataDatabase
    private let budget: Int
    private let revalidationInterval: TimeAmount
    private let state: NIOLockedValueBox<State>

    private enum Key: Hashable {
        case blobSize(Digest)
        case manifest(Digest)
        case taggedManifest(Tag)
        case tags(after: String?, limit: Int)
    }

    private enum Entry {
        case size(Int64?)
        case manifest(StoredManifest?)
        case names([String]?)

        /// Approximate bytes held.
        var cost: Int {
            switch self {
            case .size: 64
            case .manifest(let manifest): 160 + (manifest?.size ?? 0)
            case .names(let names): 64 + (names?.reduce(0) { $0 + 24 + $1.utf8.count } ?? 0)
            }
        }
    }

    private struct State {
        var entries: [RepositoryName: [Key: Entry]] = [:]
        var bytes = 0
        /// Moves on every write and external change: a read that started before a move does
        /// not store what it read.
        var generation: UInt64 = 0
        var lastCounter: Int64?
        var nextRevalidation = NIODeadline.now()
        var revalidating = false

        mutating func dropAll() {
            entries.removeAll()
            bytes = 0
            generation &+= 1
        }

        mutating func drop(_ repository: RepositoryName) {
            if let removed = entries.removeValue(forKey: repository) {
                bytes -= removed.values.reduce(0) { $0 + $1.cost }
            }
            generation &+= 1
        }
    }

    public init(database: any MetadataDatabase, budget: Int = 8 << 20, revalidationInterval: TimeAmount = .milliseconds(500)) {
        self.base = database
        self.budget = budget
        self.revalidationInterval = revalidationInterval
        self.state = NIOLockedValueBox(State())
    }

    // MARK: Cached reads

    public func blobSize(_ digest: Digest, in repository: RepositoryName) async throws -> Int64? {
        try await cached(.blobSize(digest), in: repository) {
            .size(try await base.blobSize(digest, in: repository))
        } extract: {
            if case .size(let size) = $0 { size } else { nil }
        }
    }

    public func manifest(_ digest: Digest, in repository: RepositoryName) async throws -> StoredManifest? {
        try await cached(.manifest(digest), in: repository) {
            .manifest(try await base.manifest(digest, in: repository))
        } extract: {
            if case .manifest(let manifest) = $0 { manifest } else { nil }
        }
    }

    public func manifest(taggedAs tag: Tag, in repository: RepositoryName) async throws -> StoredManifest? {
        try await cached(.taggedManifest(tag), in: repository) {
            .manifest(try await base.manifest(taggedAs: tag, in: repository))
        } extract: {
            if case .manifest(let manifest) = $0 { manifest } else { nil }
        }
    }

    public func tags(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [String]? {
        try await cached(.tags(after: last, limit: limit), in: repository) {
            .names(try await base.tags(in: repository, after: last, limit: limit))
        } extract: {
            if case .names(let names) = $0 { names } else { nil }
        }
    }

    /// Answers from the cache, or loads and remembers the answer (a "not found" too).
    /// `extract` returns nil when the entry is of another kind, which keys rule out.
    private func cached<Value>(
        _ key: Key, in repository: RepositoryName,
        load: () async throws -> Entry, extract: (Entry) -> Value??
    ) async throws -> Value? {
        try await revalidateIfDue()
        let (hit, generation) = state.withLockedValue { ($0.entries[repository]?[key], $0.generation) }
        if let hit, let value = extract(hit) { return value }
        let entry = try await load()
        state.withLockedValue { state in
            guard state.generation == generation else { return }
            if state.bytes + entry.cost > budget { state.dropAll() }
            state.entries[repository, default: [:]][key] = entry
            state.bytes += entry.cost
        }
        return extract(entry) ?? nil
    }

    /// Drops everything when the database changed under us (another process wrote). One
    /// caller checks at a time; the others go on with what is cached meanwhile.
    private func revalidateIfDue() async throws {
        let now = NIODeadline.now()
        let due = state.withLockedValue { state in
            guard now >= state.nextRevalidation, !state.revalidating else { return false }
            state.revalidating = true
            return true
        }
        guard due else { return }
        do {
            let counter = try await base.changeCounter()
            state.withLockedValue { state in
                if state.lastCounter != counter { state.dropAll() }
                state.lastCounter = counter
                state.nextRevalidation = .now() + revalidationInterval
                state.revalidating = false
            }
        } catch {
            state.withLockedValue { state in
                state.dropAll()
                state.revalidating = false
            }
            throw error
        }
    }

    /// Runs a write, then drops what it may have changed, whether it succeeded or not.
    private func invalidating<T>(_ repository: RepositoryName, _ write: () async throws -> T) async throws -> T {
        do {
            let result = try await write()
            state.withLockedValue { $0.drop(repository) }
            return result
        } catch {
            state.withLockedValue { $0.drop(repository) }
            throw error
        }
    }

    // MARK: Writes (drop the repository's entries)

    public func mountBlob(_ digest: Digest, from source: RepositoryName?, into repository: RepositoryName, limit: Int64?) async throws -> Bool {
        try await invalidating(repository) { try await base.mountBlob(digest, from: source, into: repository, limit: limit) }
    }

    public func unlinkBlob(_ digest: Digest, from repository: RepositoryName) async throws -> Bool {
        try await invalidating(repository) { try await base.unlinkBlob(digest, from: repository) }
    }

    public func putManifest(
        _ manifest: NewManifest, tags: [Tag], in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> PutManifestOutcome {
        try await invalidating(repository) {
            try await base.putManifest(manifest, tags: tags, in: repository, events: events, keeping: frozen)
        }
    }

    public func deleteManifest(
        _ digest: Digest, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> Bool {
        try await invalidating(repository) { try await base.deleteManifest(digest, in: repository, events: events, keeping: frozen) }
    }

    public func deleteTag(_ tag: Tag, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool {
        try await invalidating(repository) { try await base.deleteTag(tag, in: repository, events: events, keeping: frozen) }
    }

    public func deleteRepository(_ repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool {
        try await invalidating(repository) { try await base.deleteRepository(repository, events: events, keeping: frozen) }
    }

    /// Runs maintenance that may touch any repository, then forgets everything cached, whether
    /// it succeeded or not.
    private func invalidatingAll<T>(_ write: () async throws -> T) async throws -> T {
        do {
            let result = try await write()
            state.withLockedValue { $0.dropAll() }
            return result
        } catch {
            state.withLockedValue { $0.dropAll() }
            throw error
        }
    }

    public func finishUpload(
        _ id: UploadID, linking digest: Digest, size: Int64, into repository: RepositoryName, limit: Int64?,
        storing data: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await invalidating(repository) {
            try await base.finishUpload(id, linking: digest, size: size, into: repository, limit: limit, storing: data)
        }
    }

    // MARK: Passed through (not cached, or no cached answer depends on them)

    public func blobSize(_ digest: Digest) async throws -> Int64? { try await base.blobSize(digest) }

    /// Not cached: a quota check must see the other processes' links too.
    public func linkedBlobBytes(in repository: RepositoryName) async throws -> Int64 {
        try await base.linkedBlobBytes(in: repository)
    }

    /// Not cached: an immutable-tag check must see the tags as they are.
    public func repositories(after last: String?, limit: Int) async throws -> [String] {
        try await base.repositories(after: last, limit: limit)
    }

    public func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws -> [Descriptor] {
        try await base.referrers(of: digest, in: repository, artifactType: artifactType)
    }

    public func createUpload(_ upload: UploadRecord) async throws { try await base.createUpload(upload) }
    public func upload(_ id: UploadID) async throws -> UploadRecord? { try await base.upload(id) }

    public func updateUpload(_ id: UploadID, committedLength: Int64, from previousLength: Int64) async throws -> Bool {
        try await base.updateUpload(id, committedLength: committedLength, from: previousLength)
    }

    public func deleteUpload(_ id: UploadID) async throws { try await base.deleteUpload(id) }

    public func uploads(notUpdatedSince date: Date) async throws -> [UploadRecord] {
        try await base.uploads(notUpdatedSince: date)
    }

    public func checkReachable() async throws { try await base.checkReachable() }
    public func close() async throws { try await base.close() }

    // MARK: Maintenance

    public func repositoryNames() async throws -> [RepositoryName] { try await base.repositoryNames() }

    public func tagRecords(in repository: RepositoryName) async throws -> [TagRecord] {
        try await base.tagRecords(in: repository)
    }

    public func collectGarbage(
        _ plan: CollectionPlan, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> CollectionResult {
        if plan.dryRun { return try await base.collectGarbage(plan, disposing: disposing) }
        return try await invalidatingAll { try await base.collectGarbage(plan, disposing: disposing) }
    }

    /// Touches no record a cached answer depends on (the records are gone already).
    public func disposeOfForgottenBlobs(disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws -> Int {
        try await base.disposeOfForgottenBlobs(disposing: disposing)
    }

    public func removeUnrecordedBlobFiles(
        _ candidates: [Digest], removing: @escaping @Sendable ([Digest]) async throws -> Void
    ) async throws -> [Digest] {
        try await base.removeUnrecordedBlobFiles(candidates, removing: removing)
    }

    /// Use times are not cached.
    public func recordUse(tags: [RepositoryName: Set<Tag>], blobs: [RepositoryName: Set<Digest>], at date: Date) async throws {
        try await base.recordUse(tags: tags, blobs: blobs, at: date)
    }

    public func recordBlobUse(_ digest: Digest, in repository: RepositoryName, at date: Date) async throws -> Bool {
        try await base.recordBlobUse(digest, in: repository, at: date)
    }

    public func blobRecords(after last: Digest?, limit: Int) async throws -> [BlobRecord] {
        try await base.blobRecords(after: last, limit: limit)
    }

    /// Every repository linking the blob had its size cached: everything goes.
    public func forgetBlob(_ digest: Digest, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws {
        try await invalidatingAll { try await base.forgetBlob(digest, disposing: disposing) }
    }

    public func danglingBlobReferences() async throws -> [Digest] { try await base.danglingBlobReferences() }

    /// Not cached here: the metrics endpoint keeps its own copy for a few seconds.
    public func storageTotals() async throws -> StorageTotals { try await base.storageTotals() }

    public func usage(of repository: RepositoryName?) async throws -> UsageFigures { try await base.usage(of: repository) }

    public func linkedBlobs(in repository: RepositoryName) async throws -> [BlobRecord] { try await base.linkedBlobs(in: repository) }

    public func manifestRecords(in repository: RepositoryName) async throws -> [ManifestRecord] {
        try await base.manifestRecords(in: repository)
    }

    // MARK: Background jobs

    public func runExclusively<T: Sendable>(_ job: String, _ body: @Sendable () async throws -> T) async throws -> T? {
        try await base.runExclusively(job, body)
    }

    // MARK: Pull-through cache budget

    public func cachedBytes(under prefixes: [String]) async throws -> Int64 { try await base.cachedBytes(under: prefixes) }

    public func cacheEntries(under prefixes: [String]) async throws -> [CacheEntry] { try await base.cacheEntries(under: prefixes) }

    public func evict(
        _ entry: CacheEntry, protecting protected: Set<Digest>,
        disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> [BlobRecord] {
        // The blobs it deletes are linked nowhere else, so only the entry's repository changed.
        try await invalidating(entry.repository) { try await base.evict(entry, protecting: protected, disposing: disposing) }
    }
}
