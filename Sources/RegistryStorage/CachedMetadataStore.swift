import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RegistryModel

/// A read-through cache in front of a ``MetadataStore`` for the lookups every pull repeats:
/// a manifest by tag or digest, a blob's size in a repository (`HEAD` blob), a page of tags.
///
/// A hit answers without a database round trip (for SQLite, a thread-pool hop and a statement
/// prepared anew each time, most of the cost of a small request). Coherence:
/// - a write through this store drops the cached entries of its repository once it committed,
///   and a read that raced with any write does not fill the cache;
/// - writes by another process on the same root (a second server, `registry` maintenance
///   commands) are noticed through `changeCounter`, checked at most every
///   `revalidationInterval`; when it moved, everything is dropped.
/// Entries are bounded by `budget` bytes (manifest bodies dominate); past it the cache starts over.
public final class CachedMetadataStore: MetadataStore {
    private let base: any MetadataStore
    private let changeCounter: @Sendable () async throws -> Int64
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

    public init(
        wrapping base: any MetadataStore, budget: Int = 8 << 20, revalidationInterval: TimeAmount = .seconds(1),
        changeCounter: @escaping @Sendable () async throws -> Int64
    ) {
        self.base = base
        self.budget = budget
        self.revalidationInterval = revalidationInterval
        self.changeCounter = changeCounter
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
            let counter = try await changeCounter()
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

    public func mountBlob(_ digest: Digest, from source: RepositoryName?, into repository: RepositoryName) async throws -> Bool {
        try await invalidating(repository) { try await base.mountBlob(digest, from: source, into: repository) }
    }

    public func unlinkBlob(_ digest: Digest, from repository: RepositoryName) async throws -> Bool {
        try await invalidating(repository) { try await base.unlinkBlob(digest, from: repository) }
    }

    public func putManifest(_ manifest: NewManifest, tags: [Tag], in repository: RepositoryName) async throws -> PutManifestOutcome {
        try await invalidating(repository) { try await base.putManifest(manifest, tags: tags, in: repository) }
    }

    public func deleteManifest(_ digest: Digest, in repository: RepositoryName) async throws -> Bool {
        try await invalidating(repository) { try await base.deleteManifest(digest, in: repository) }
    }

    public func deleteTag(_ tag: Tag, in repository: RepositoryName) async throws -> Bool {
        try await invalidating(repository) { try await base.deleteTag(tag, in: repository) }
    }

    public func deleteRepository(_ repository: RepositoryName) async throws -> Bool {
        try await invalidating(repository) { try await base.deleteRepository(repository) }
    }

    /// Forgets everything cached, after maintenance that touched many repositories at once.
    public func dropAll() {
        state.withLockedValue { $0.dropAll() }
    }

    public func finishUpload(
        _ id: UploadID, linking digest: Digest, size: Int64, into repository: RepositoryName,
        storing data: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await invalidating(repository) {
            try await base.finishUpload(id, linking: digest, size: size, into: repository, storing: data)
        }
    }

    // MARK: Passed through (not cached, or no cached answer depends on them)

    public func blobSize(_ digest: Digest) async throws -> Int64? { try await base.blobSize(digest) }

    public func repositories(after last: String?, limit: Int) async throws -> [String] {
        try await base.repositories(after: last, limit: limit)
    }

    public func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws -> [Descriptor] {
        try await base.referrers(of: digest, in: repository, artifactType: artifactType)
    }

    public func createUpload(_ upload: UploadRecord) async throws { try await base.createUpload(upload) }
    public func upload(_ id: UploadID) async throws -> UploadRecord? { try await base.upload(id) }

    public func updateUpload(_ id: UploadID, committedLength: Int64) async throws {
        try await base.updateUpload(id, committedLength: committedLength)
    }

    public func deleteUpload(_ id: UploadID) async throws { try await base.deleteUpload(id) }

    public func uploads(notUpdatedSince date: Date) async throws -> [UploadRecord] {
        try await base.uploads(notUpdatedSince: date)
    }

    public func checkReachable() async throws { try await base.checkReachable() }
    public func close() async throws { try await base.close() }
}
