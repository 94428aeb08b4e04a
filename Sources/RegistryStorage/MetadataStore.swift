import Foundation
import NIOCore
import RegistryModel

/// The registry's transactional metadata: repositories, which blobs each may read, manifests
/// and their references, tags and upload sessions. Listings are index lookups whose cost grows
/// with the page size, not with the number of rows.
public protocol MetadataStore: Sendable {
    // Blobs
    /// Size of `digest` when `repository` may read it.
    func blobSize(_ digest: Digest, in repository: RepositoryName) async throws -> Int64?
    /// Size of `digest` when any repository holds it.
    func blobSize(_ digest: Digest) async throws -> Int64?
    /// Lets `repository` read a blob the registry stores (creating the repository): with
    /// `source`, only a blob that repository may read. Returns false, changing nothing, when
    /// there is no such blob. Checked and linked atomically; with a `limit`, throws
    /// ``QuotaLimitReached`` when the link would take the repository's linked bytes past it.
    func mountBlob(_ digest: Digest, from source: RepositoryName?, into repository: RepositoryName, limit: Int64?) async throws -> Bool
    /// Withdraws `repository`'s access to a blob. Returns whether it had access.
    func unlinkBlob(_ digest: Digest, from repository: RepositoryName) async throws -> Bool
    /// Sum of the sizes of the distinct stored blobs `repository` links (0 for an unknown
    /// repository): what storage quotas count. One indexed aggregate, never cached.
    func linkedBlobBytes(in repository: RepositoryName) async throws -> Int64

    // Manifests and tags
    func manifest(_ digest: Digest, in repository: RepositoryName) async throws -> StoredManifest?
    func manifest(taggedAs tag: Tag, in repository: RepositoryName) async throws -> StoredManifest?
    /// Stores a manifest and moves every one of `tags` to it, all in one transaction, if
    /// everything it references is present; otherwise changes nothing. `events` go to the
    /// ``EventOutbox`` in the same transaction, when the manifest is stored. Throws
    /// ``FrozenTagChange``, changing nothing, when one of `tags` is `frozen` and points at
    /// another manifest.
    func putManifest(
        _ manifest: NewManifest, tags: [Tag], in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> PutManifestOutcome
    /// Deletes a manifest and every tag pointing at it (with `events`, when it existed). Throws
    /// ``FrozenTagChange``, changing nothing, when one of those tags is `frozen`.
    func deleteManifest(_ digest: Digest, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool
    /// Deletes a tag (with `events`, when it existed). Throws ``FrozenTagChange``, changing
    /// nothing, when it exists and is `frozen`.
    func deleteTag(_ tag: Tag, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool
    /// Deletes a repository: its tags, manifests and blob links. The blobs themselves go with
    /// the next garbage collection if nothing else uses them. False for an unknown repository.
    /// Throws ``FrozenTagChange``, changing nothing, when one of its tags is `frozen`.
    func deleteRepository(_ repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool
    /// Tags in lexical order after `last`, at most `limit`; `nil` when the repository is unknown.
    func tags(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [String]?
    func repositories(after last: String?, limit: Int) async throws -> [String]
    func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws -> [Descriptor]

    // Upload sessions
    func createUpload(_ upload: UploadRecord) async throws
    func upload(_ id: UploadID) async throws -> UploadRecord?
    /// Records that the session now holds `committedLength` bytes, if it held `previousLength`:
    /// false, changing nothing, when the record is gone (expired, cancelled, finished) or another
    /// process (a replica) moved it meanwhile.
    func updateUpload(_ id: UploadID, committedLength: Int64, from previousLength: Int64) async throws -> Bool
    func deleteUpload(_ id: UploadID) async throws
    /// Ends a session whose data becomes blob `digest`, and lets `repository` read that blob,
    /// in one transaction. `data` (which makes sure the bytes are in place) runs inside it,
    /// under the write lock, so that no garbage collection removes the file between that check
    /// and the records' commit. With a `limit`, throws ``QuotaLimitReached``, changing nothing,
    /// when the link would take the repository's linked bytes past it (a blob it already links
    /// adds nothing).
    func finishUpload(
        _ id: UploadID, linking digest: Digest, size: Int64, into repository: RepositoryName, limit: Int64?,
        storing data: @escaping @Sendable () async throws -> Void) async throws
    func uploads(notUpdatedSince date: Date) async throws -> [UploadRecord]

    /// Runs a trivial query; throws when the database is unusable.
    func checkReachable() async throws
    func close() async throws
}

extension MetadataStore {
    // The links no storage quota limits (the pull-through cache, migration, tests).

    public func mountBlob(_ digest: Digest, from source: RepositoryName?, into repository: RepositoryName) async throws -> Bool {
        try await mountBlob(digest, from: source, into: repository, limit: nil)
    }

    public func finishUpload(
        _ id: UploadID, linking digest: Digest, size: Int64, into repository: RepositoryName,
        storing data: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await finishUpload(id, linking: digest, size: size, into: repository, limit: nil, storing: data)
    }

    /// Stores a manifest, moving `tag` (if any) to it.
    public func putManifest(
        _ manifest: NewManifest, tag: Tag?, in repository: RepositoryName, events: [OutboxEvent] = []
    ) async throws -> PutManifestOutcome {
        try await putManifest(manifest, tags: tag.map { [$0] } ?? [], in: repository, events: events)
    }

    // The writes that no immutable-tag rule guards (maintenance, migration, proxy cache, tests).

    public func putManifest(
        _ manifest: NewManifest, tags: [Tag], in repository: RepositoryName, events: [OutboxEvent]
    ) async throws -> PutManifestOutcome {
        try await putManifest(manifest, tags: tags, in: repository, events: events, keeping: .none)
    }

    public func deleteManifest(_ digest: Digest, in repository: RepositoryName, events: [OutboxEvent]) async throws -> Bool {
        try await deleteManifest(digest, in: repository, events: events, keeping: .none)
    }

    public func deleteTag(_ tag: Tag, in repository: RepositoryName, events: [OutboxEvent]) async throws -> Bool {
        try await deleteTag(tag, in: repository, events: events, keeping: .none)
    }

    public func deleteRepository(_ repository: RepositoryName, events: [OutboxEvent]) async throws -> Bool {
        try await deleteRepository(repository, events: events, keeping: .none)
    }

    // The writes without event notifications (maintenance, migration, tests).

    public func putManifest(_ manifest: NewManifest, tags: [Tag], in repository: RepositoryName) async throws -> PutManifestOutcome {
        try await putManifest(manifest, tags: tags, in: repository, events: [])
    }

    public func deleteManifest(_ digest: Digest, in repository: RepositoryName) async throws -> Bool {
        try await deleteManifest(digest, in: repository, events: [])
    }

    public func deleteTag(_ tag: Tag, in repository: RepositoryName) async throws -> Bool {
        try await deleteTag(tag, in: repository, events: [])
    }

    public func deleteRepository(_ repository: RepositoryName) async throws -> Bool {
        try await deleteRepository(repository, events: [])
    }
}

/// A manifest as stored: its exact bytes and what is needed to serve them.
public struct StoredManifest: Sendable {
    public var digest: Digest
    public var mediaType: String
    public var content: ByteBuffer

    public init(digest: Digest, mediaType: String, content: ByteBuffer) {
        self.digest = digest
        self.mediaType = mediaType
        self.content = content
    }

    public var size: Int { content.readableBytes }
}

/// A validated manifest about to be stored.
public struct NewManifest: Sendable {
    public var digest: Digest
    public var mediaType: String
    public var content: ByteBuffer
    public var blobReferences: [Digest]
    public var manifestReferences: [Digest]
    public var subject: Digest?
    public var artifactType: String?
    public var annotations: [String: String]?
    /// Stored even when its blobs and child manifests are not in the repository yet: a
    /// pull-through cache keeps an upstream's manifest and fetches what it references when a
    /// client asks for it.
    public var referencesMayBeAbsent = false

    public init(
        digest: Digest, mediaType: String, content: ByteBuffer, blobReferences: [Digest],
        manifestReferences: [Digest], subject: Digest?, artifactType: String?, annotations: [String: String]?
    ) {
        self.digest = digest
        self.mediaType = mediaType
        self.content = content
        self.blobReferences = blobReferences
        self.manifestReferences = manifestReferences
        self.subject = subject
        self.artifactType = artifactType
        self.annotations = annotations
    }
}

public enum PutManifestOutcome: Sendable, Equatable {
    case stored
    /// Nothing was written: these blobs or child manifests are not in the repository.
    case missingReferences([Digest])
}

/// An upload session as the metadata store keeps it, so that it survives a restart.
public struct UploadRecord: Sendable, Equatable {
    public var id: UploadID
    public var repository: RepositoryName
    /// Bytes acknowledged to the client and flushed to disk.
    public var committedLength: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UploadID, repository: RepositoryName, committedLength: Int64 = 0, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.repository = repository
        self.committedLength = committedLength
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
