import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RegistryModel
import SQLiteNIO

/// ``MetadataStore`` on SQLite (WAL mode) through vapor/sqlite-nio.
///
/// One connection writes, serialised by an async lock so that a multi-statement transaction
/// never interleaves with another task's; a few more connections read concurrently, which WAL
/// allows without blocking the writer. Every call runs on a dedicated thread pool, never on an
/// event loop.
public final class SQLiteMetadataStore: MetadataStore {
    let writer: SQLiteConnection
    private let readers: [SQLiteConnection]
    /// Only asks `PRAGMA data_version`, whose answer is per connection: it moves when any
    /// other connection, in this process or another, commits.
    private let watcher: SQLiteConnection
    private let nextReader = NIOLockedValueBox(0)
    private let writeLock: AsyncSerialLock
    /// Where the small writes of upload sessions go, to be committed in batches.
    let commits: GroupCommitQueue
    private let threadPool: NIOThreadPool
    /// The database file; job claims are files beside it.
    let path: String
    /// The audit contexts this process knows the ids of.
    let auditContextIDs = AuditContextIDs()

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], watcher: SQLiteConnection, threadPool: NIOThreadPool) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.watcher = watcher
        self.threadPool = threadPool
        writeLock = AsyncSerialLock()
        commits = GroupCommitQueue(connection: writer, writeLock: writeLock)
    }

    /// How long a connection waits for another process's lock before giving up.
    static let busyTimeoutMilliseconds = 30_000

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// Read-only, it opens an existing database without changing anything, not even its
    /// journal mode, so that a root on a read-only medium (or committed to git) can be served.
    public static func open(
        path: String, readOnly: Bool = false, readerCount: Int = 3, logger: Logger
    ) async throws -> SQLiteMetadataStore {
        let threadPool = NIOThreadPool(numberOfThreads: readerCount + 1)
        threadPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let storage: SQLiteConnection.Storage = readOnly ? .file(path: "file:\(path)?mode=ro") : .file(path: path)
        do {
            let writer = try await SQLiteConnection.open(storage: storage, threadPool: threadPool, logger: logger, on: eventLoop)
            // Another process on the same root (`registry gc`, `registry rm`) may hold the write
            // lock for a moment: wait for it, sleeping, rather than spin (sqlite-nio's default).
            _ = try await writer.query("PRAGMA busy_timeout=\(busyTimeoutMilliseconds)")
            if readOnly {
                _ = try await writer.query("PRAGMA query_only=ON")
            } else {
                _ = try await writer.query("PRAGMA journal_mode=WAL")
                // FULL: in WAL mode every commit syncs the log before it returns, so a change
                // acknowledged to a client survives a power loss (NORMAL only syncs at checkpoints).
                _ = try await writer.query("PRAGMA synchronous=FULL")
                try await migrate(writer)
                for statement in SQLiteSchema.writerStatements { _ = try await writer.query(statement) }
            }
            var readers: [SQLiteConnection] = []
            for _ in 0...readerCount {
                let reader = try await SQLiteConnection.open(storage: storage, threadPool: threadPool, logger: logger, on: eventLoop)
                _ = try await reader.query("PRAGMA query_only=ON")
                _ = try await reader.query("PRAGMA busy_timeout=\(busyTimeoutMilliseconds)")
                readers.append(reader)
            }
            let watcher = readers.removeLast()
            return SQLiteMetadataStore(path: path, writer: writer, readers: readers, watcher: watcher, threadPool: threadPool)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    /// Creates the schema, or upgrades one that an older version made (0 is a new database).
    private static func migrate(_ writer: SQLiteConnection) async throws {
        let found = try await writer.query("PRAGMA user_version").first?.column("user_version")?.integer ?? 0
        guard found <= SQLiteSchema.version else {
            throw MetadataError.corrupt("the database has schema version \(found), newer than this registry's \(SQLiteSchema.version)")
        }
        _ = try await writer.query("BEGIN IMMEDIATE")
        do {
            if found > 0 {
                for version in found..<SQLiteSchema.version {
                    for statement in SQLiteSchema.migrations[version] ?? [] { _ = try await writer.query(statement) }
                }
            }
            for statement in SQLiteSchema.statements { _ = try await writer.query(statement) }
            _ = try await writer.query("PRAGMA user_version=\(SQLiteSchema.version)")
            try await endTransaction("COMMIT", on: writer)
        } catch {
            try? await endTransaction("ROLLBACK", on: writer)
            throw error
        }
    }

    /// Closes every connection. Runs to completion even when the calling task is cancelled
    /// (sqlite-nio's thread pool refuses work from cancelled tasks, which would leak the handles).
    public func close() async throws {
        try await Task {
            for reader in readers { try await reader.close() }
            try await watcher.close()
            try await writeLock.withLock { try await self.writer.close() }
            try await threadPool.shutdownGracefully()
        }.value
    }

    /// A number that changes whenever another connection (another process included) committed
    /// since the last call. What ``Metadata`` checks to notice outside writes.
    public func changeCounter() async throws -> Int64 {
        guard let version = try await watcher.query("PRAGMA data_version").first?.column("data_version")?.int64 else {
            throw MetadataError.corrupt("PRAGMA data_version returned nothing")
        }
        return version
    }

    // MARK: Connections and transactions

    var reader: SQLiteConnection {
        let index = nextReader.withLockedValue { value in
            value = (value + 1) % readers.count
            return value
        }
        return readers[index]
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction on the writer connection; with
    /// `rollingBack`, undoes it all at the end (dry runs).
    func transaction<T: Sendable>(
        rollingBack: Bool = false, _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        let writer = self.writer
        return try await writeLock.withLock {
            try await Self.inTransaction(on: writer, rollingBack: rollingBack, body)
        }
    }

    /// `BEGIN IMMEDIATE`, `body`, then `COMMIT` (`ROLLBACK` when `body` throws, or with
    /// `rollingBack`). The caller holds the write lock.
    static func inTransaction<T>(
        on writer: SQLiteConnection, rollingBack: Bool = false, _ body: (SQLiteConnection) async throws -> T
    ) async throws -> T {
        _ = try await writer.query("BEGIN IMMEDIATE")
        do {
            let result = try await body(writer)
            try await endTransaction(rollingBack ? "ROLLBACK" : "COMMIT", on: writer)
            return result
        } catch {
            try? await endTransaction("ROLLBACK", on: writer)
            throw error
        }
    }

    /// Runs `COMMIT` or `ROLLBACK` even when the calling task is cancelled (a stopping registry's
    /// are): sqlite-nio's thread pool refuses work from a cancelled task, and a transaction left
    /// open on the writer connection would make every later `BEGIN` fail ("cannot start a
    /// transaction within a transaction") until a restart, losing each write after it.
    static func endTransaction(_ statement: String, on writer: SQLiteConnection) async throws {
        _ = try await Task { try await writer.query(statement) }.value
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func repositoryID(_ name: RepositoryName, on connection: SQLiteConnection) async throws -> Int64? {
        try await connection.query("SELECT id FROM repositories WHERE name = ?", [.text(name.value)]).first?.column("id")?.int64
    }

    static func ensureRepository(_ name: RepositoryName, on connection: SQLiteConnection) async throws -> Int64 {
        if let id = try await repositoryID(name, on: connection) { return id }
        let rows = try await connection.query(
            "INSERT INTO repositories (name, created_at) VALUES (?, ?) RETURNING id", [.text(name.value), .int64(now)])
        guard let id = rows.first?.column("id")?.int64 else { throw MetadataError.corrupt("repository insert returned no id") }
        return id
    }

    // MARK: Blobs

    public func blobSize(_ digest: Digest, in repository: RepositoryName) async throws -> Int64? {
        try await reader.query(
            """
            SELECT b.size FROM repositories r
            JOIN repository_blobs rb ON rb.repository_id = r.id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.name = ? AND rb.digest = ?
            """,
            [.text(repository.value), .text(digest.description)]
        ).first?.column("size")?.int64
    }

    public func blobSize(_ digest: Digest) async throws -> Int64? {
        try await reader.query("SELECT size FROM blobs WHERE digest = ?", [.text(digest.description)])
            .first?.column("size")?.int64
    }

    public func mountBlob(_ digest: Digest, from source: RepositoryName?, into repository: RepositoryName, limit: Int64?) async throws -> Bool {
        // Checked and linked in one transaction: garbage collection, which deletes a blob only
        // when no repository links it, cannot slip in between, nor can another link past the
        // quota.
        try await transaction { db in
            let present: Bool
            if let source {
                present = try await !db.query(
                    """
                    SELECT 1 AS present FROM repositories r
                    JOIN repository_blobs rb ON rb.repository_id = r.id
                    JOIN blobs b ON b.digest = rb.digest
                    WHERE r.name = ? AND rb.digest = ?
                    """,
                    [.text(source.value), .text(digest.description)]
                ).isEmpty
            } else {
                present = try await !db.query("SELECT 1 AS present FROM blobs WHERE digest = ?", [.text(digest.description)]).isEmpty
            }
            guard present else { return false }
            if let limit, try await Self.wouldExceed(limit, linking: digest, into: repository, on: db) { throw QuotaLimitReached() }
            let repositoryID = try await Self.ensureRepository(repository, on: db)
            try await Self.link(digest, into: repositoryID, on: db)
            return true
        }
    }

    /// Whether linking `digest` (a stored blob) would take `repository`'s linked bytes past
    /// `limit`: the check `finish_upload`'s trigger makes, for mounts.
    private static func wouldExceed(_ limit: Int64, linking digest: Digest, into repository: RepositoryName, on db: SQLiteConnection) async throws -> Bool {
        let row = try await db.query(
            """
            SELECT NOT EXISTS (
                    SELECT 1 FROM repositories r JOIN repository_blobs rb ON rb.repository_id = r.id
                    WHERE r.name = ?1 AND rb.digest = ?2)
                AND (SELECT size FROM blobs WHERE digest = ?2) + (
                    SELECT coalesce(sum(b.size), 0) FROM repositories r
                    JOIN repository_blobs rb ON rb.repository_id = r.id JOIN blobs b ON b.digest = rb.digest
                    WHERE r.name = ?1) > ?3 AS exceeds
            """,
            [.text(repository.value), .text(digest.description), .int64(limit)]
        ).first
        return row?.column("exceeds")?.integer == 1
    }

    /// Lets a repository read a blob. A link made again counts as new, so that the grace period
    /// of garbage collection starts over (a mount or upload is usually followed by a manifest).
    private static func link(_ digest: Digest, into repositoryID: Int64, on db: SQLiteConnection) async throws {
        _ = try await db.query(
            """
            INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (?, ?, ?)
            ON CONFLICT DO UPDATE SET created_at = excluded.created_at
            """,
            [.int64(repositoryID), .text(digest.description), .int64(now)])
    }

    public func unlinkBlob(_ digest: Digest, from repository: RepositoryName) async throws -> Bool {
        try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(repository, on: db) else { return false }
            return try await !db.query(
                "DELETE FROM repository_blobs WHERE repository_id = ? AND digest = ? RETURNING digest",
                [.int64(repositoryID), .text(digest.description)]
            ).isEmpty
        }
    }

    // MARK: Manifests and tags

    public func manifest(_ digest: Digest, in repository: RepositoryName) async throws -> StoredManifest? {
        let rows = try await reader.query(
            """
            SELECT m.media_type, m.content FROM repositories r
            JOIN manifests m ON m.repository_id = r.id
            WHERE r.name = ? AND m.digest = ?
            """,
            [.text(repository.value), .text(digest.description)])
        guard let row = rows.first else { return nil }
        return try Self.storedManifest(row, digest: digest)
    }

    public func manifest(taggedAs tag: Tag, in repository: RepositoryName) async throws -> StoredManifest? {
        let rows = try await reader.query(
            """
            SELECT m.digest, m.media_type, m.content FROM repositories r
            JOIN tags t ON t.repository_id = r.id
            JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
            WHERE r.name = ? AND t.name = ?
            """,
            [.text(repository.value), .text(tag.value)])
        guard let row = rows.first else { return nil }
        guard let digestString = row.column("digest")?.string, let digest = try? Digest(parsing: digestString) else {
            throw MetadataError.corrupt("manifest row without a valid digest")
        }
        return try Self.storedManifest(row, digest: digest)
    }

    private static func storedManifest(_ row: SQLiteRow, digest: Digest) throws -> StoredManifest {
        guard let mediaType = row.column("media_type")?.string, case .blob(let content)? = row.column("content") else {
            throw MetadataError.corrupt("manifest row \(digest) is incomplete")
        }
        return StoredManifest(digest: digest, mediaType: mediaType, content: content)
    }

    public func putManifest(
        _ manifest: NewManifest, tags: [Tag], in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> PutManifestOutcome {
        try await transaction { db in
            let existingID = try await Self.repositoryID(repository, on: db)
            try await Self.requireUnmoved(tags.filter(frozen.contains), to: manifest.digest, repositoryID: existingID, on: db)
            if !manifest.referencesMayBeAbsent {
                let missing =
                    try await Self.absent(manifest.blobReferences, from: "repository_blobs", repositoryID: existingID, on: db)
                    + Self.absent(manifest.manifestReferences, from: "manifests", repositoryID: existingID, on: db)
                guard missing.isEmpty else { return .missingReferences(missing) }
            }

            let repositoryID: Int64
            if let existingID { repositoryID = existingID } else { repositoryID = try await Self.ensureRepository(repository, on: db) }
            let now = Self.now
            let annotations: SQLiteData = try manifest.annotations.map {
                .text(String(decoding: try JSONEncoder().encode($0), as: UTF8.self))
            } ?? .null
            _ = try await db.query(
                """
                INSERT INTO manifests (repository_id, digest, media_type, content, subject, artifact_type, annotations, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository_id, digest) DO NOTHING
                """,
                [
                    .int64(repositoryID), .text(manifest.digest.description), .text(manifest.mediaType),
                    .blob(manifest.content), manifest.subject.map { .text($0.description) } ?? .null,
                    manifest.artifactType.map { .text($0) } ?? .null, annotations, .int64(now),
                ])
            let children = manifest.blobReferences.map { ($0, 0 as Int64) } + manifest.manifestReferences.map { ($0, 1 as Int64) }
            for batch in children.chunked(Self.rowsPerStatement) {
                // One multi-row INSERT per batch: a manifest's edges cost one round trip, not one per layer.
                let rows = Array(repeating: "(?, ?, ?, ?)", count: batch.count).joined(separator: ", ")
                let binds = batch.flatMap { child, isManifest -> [SQLiteData] in
                    [.int64(repositoryID), .text(manifest.digest.description), .text(child.description), .int64(isManifest)]
                }
                _ = try await db.query(
                    "INSERT INTO manifest_references (repository_id, manifest_digest, child_digest, child_is_manifest) VALUES \(rows) ON CONFLICT DO NOTHING",
                    binds)
            }
            for tag in tags {
                _ = try await db.query(
                    """
                    INSERT INTO tags (repository_id, name, manifest_digest, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at
                    """,
                    [.int64(repositoryID), .text(tag.value), .text(manifest.digest.description), .int64(now)])
            }
            try await Self.appendEvents(events, on: db)
            return .stored
        }
    }

    /// Throws ``FrozenTagChange`` for the first of `frozen` that points at another manifest
    /// than `digest`.
    private static func requireUnmoved(_ frozen: [Tag], to digest: Digest, repositoryID: Int64?, on db: SQLiteConnection) async throws {
        guard let repositoryID, !frozen.isEmpty else { return }
        let placeholders = Array(repeating: "?", count: frozen.count).joined(separator: ", ")
        let moved = try await db.query(
            "SELECT name FROM tags WHERE repository_id = ? AND manifest_digest <> ? AND name IN (\(placeholders)) ORDER BY name LIMIT 1",
            [.int64(repositoryID), .text(digest.description)] + frozen.map { .text($0.value) })
        if let name = moved.first?.column("name")?.string, let tag = Tag(name) { throw FrozenTagChange(tag: tag) }
    }

    /// Statement size for batched queries, well under SQLite's limit of bound parameters.
    static let rowsPerStatement = 200

    /// Which of `digests` have no row in `table` (`repository_blobs` or `manifests`) for the
    /// repository, asked in batches rather than one query per digest.
    private static func absent(_ digests: [Digest], from table: String, repositoryID: Int64?, on db: SQLiteConnection) async throws -> [Digest] {
        guard let repositoryID else { return digests }
        var present: Set<String> = []
        for batch in Array(Set(digests)).chunked(rowsPerStatement) {
            let placeholders = Array(repeating: "?", count: batch.count).joined(separator: ", ")
            let rows = try await db.query(
                "SELECT digest FROM \(table) WHERE repository_id = ? AND digest IN (\(placeholders))",
                [.int64(repositoryID)] + batch.map { .text($0.description) })
            for row in rows { if let digest = row.column("digest")?.string { present.insert(digest) } }
        }
        return digests.filter { !present.contains($0.description) }
    }

    public func deleteManifest(
        _ digest: Digest, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> Bool {
        try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(repository, on: db) else { return false }
            let binds: [SQLiteData] = [.int64(repositoryID), .text(digest.description)]
            let deleted = try await db.query(
                "DELETE FROM manifests WHERE repository_id = ? AND digest = ? RETURNING digest", binds)
            guard !deleted.isEmpty else { return false }
            let tags = try await db.query("DELETE FROM tags WHERE repository_id = ? AND manifest_digest = ? RETURNING name", binds)
            if let tag = frozen.first(of: tags.compactMap { $0.column("name")?.string }) { throw FrozenTagChange(tag: tag) }
            _ = try await db.query("DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ?", binds)
            try await Self.appendEvents(events, on: db)
            return true
        }
    }

    public func deleteTag(_ tag: Tag, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool {
        try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(repository, on: db) else { return false }
            let deleted = try await !db.query(
                "DELETE FROM tags WHERE repository_id = ? AND name = ? RETURNING name",
                [.int64(repositoryID), .text(tag.value)]
            ).isEmpty
            if deleted && frozen.contains(tag) { throw FrozenTagChange(tag: tag) }
            if deleted { try await Self.appendEvents(events, on: db) }
            return deleted
        }
    }

    public func tags(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [String]? {
        let reader = self.reader
        guard let repositoryID = try await Self.repositoryID(repository, on: reader) else { return nil }
        guard limit > 0 else { return [] }
        return try await reader.query(
            "SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?",
            [.int64(repositoryID), .text(last ?? ""), .int64(Int64(limit))]
        ).compactMap { $0.column("name")?.string }
    }

    public func repositories(after last: String?, limit: Int) async throws -> [String] {
        guard limit > 0 else { return [] }
        return try await reader.query(
            "SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?",
            [.text(last ?? ""), .int64(Int64(limit))]
        ).compactMap { $0.column("name")?.string }
    }

    public func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws -> [Descriptor] {
        var sql = """
            SELECT m.digest, m.media_type, length(m.content) AS size, m.artifact_type, m.annotations
            FROM repositories r JOIN manifests m ON m.repository_id = r.id
            WHERE r.name = ? AND m.subject = ?
            """
        var binds: [SQLiteData] = [.text(repository.value), .text(digest.description)]
        if let artifactType {
            sql += " AND m.artifact_type = ?"
            binds.append(.text(artifactType))
        }
        sql += " ORDER BY m.digest"
        return try await reader.query(sql, binds).map { row in
            guard let digestString = row.column("digest")?.string, let digest = try? Digest(parsing: digestString),
                  let mediaType = row.column("media_type")?.string, let size = row.column("size")?.int64
            else { throw MetadataError.corrupt("referrer row is incomplete") }
            let annotations = try row.column("annotations")?.string.map {
                try JSONDecoder().decode([String: String].self, from: Data($0.utf8))
            }
            return Descriptor(
                mediaType: mediaType, digest: digest, size: size,
                artifactType: row.column("artifact_type")?.string, annotations: annotations)
        }
    }

    // MARK: Upload sessions

    public func createUpload(_ upload: UploadRecord) async throws {
        try await commits.commit(.init(
            sql: "INSERT INTO uploads (id, repository, committed_length, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            binds: [
                .text(upload.id.value), .text(upload.repository.value), .int64(upload.committedLength),
                .int64(Self.milliseconds(upload.createdAt)), .int64(Self.milliseconds(upload.updatedAt)),
            ]))
    }

    public func upload(_ id: UploadID) async throws -> UploadRecord? {
        let rows = try await reader.query(
            "SELECT repository, committed_length, created_at, updated_at FROM uploads WHERE id = ?", [.text(id.value)])
        return try rows.first.map { try Self.uploadRecord($0, id: id) }
    }

    public func updateUpload(_ id: UploadID, committedLength: Int64, from previousLength: Int64) async throws -> Bool {
        let updated = try await commits.commit(.init(
            sql: "UPDATE uploads SET committed_length = ?, updated_at = ? WHERE id = ? AND committed_length = ? RETURNING id",
            binds: [.int64(committedLength), .int64(Self.now), .text(id.value), .int64(previousLength)]))
        return !updated.isEmpty
    }

    public func deleteUpload(_ id: UploadID) async throws {
        try await commits.commit(.init(sql: "DELETE FROM uploads WHERE id = ?", binds: [.text(id.value)]))
    }

    public func finishUpload(
        _ id: UploadID, linking digest: Digest, size: Int64, into repository: RepositoryName, limit: Int64?,
        storing data: @escaping @Sendable () async throws -> Void
    ) async throws {
        // The data is confirmed in place inside the transaction that records it, under the
        // write lock: garbage collection (which removes blob files under the same lock) cannot
        // remove it between that check and the commit. One statement checks the quota and does
        // the four writes (see `SQLiteSchema.writerStatements`), and concurrent finishes share a
        // transaction, each in turn: the second sees the first's link.
        do {
            try await commits.commit(.init(
                preparation: data,
                sql: """
                    INSERT INTO finished_uploads (upload_id, repository, digest, size, finished_at, quota_limit)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                binds: [
                    .text(id.value), .text(repository.value), .text(digest.description), .int64(size), .int64(Self.now),
                    limit.map { .int64($0) } ?? .null,
                ]))
        } catch let error as SQLiteError where error.message == SQLiteSchema.quotaLimitReached {
            throw QuotaLimitReached()
        }
    }

    public func uploads(notUpdatedSince date: Date) async throws -> [UploadRecord] {
        try await reader.query(
            "SELECT id, repository, committed_length, created_at, updated_at FROM uploads WHERE updated_at < ?",
            [.int64(Self.milliseconds(date))]
        ).compactMap { row in
            guard let id = row.column("id")?.string.flatMap(UploadID.init) else { return nil }
            return try Self.uploadRecord(row, id: id)
        }
    }

    private static func uploadRecord(_ row: SQLiteRow, id: UploadID) throws -> UploadRecord {
        guard let repository = row.column("repository")?.string.flatMap(RepositoryName.init),
              let length = row.column("committed_length")?.int64,
              let created = row.column("created_at")?.int64, let updated = row.column("updated_at")?.int64
        else { throw MetadataError.corrupt("upload row \(id) is incomplete") }
        return UploadRecord(
            id: id, repository: repository, committedLength: length,
            createdAt: Date(timeIntervalSince1970: Double(created) / 1000),
            updatedAt: Date(timeIntervalSince1970: Double(updated) / 1000))
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }

    public func checkReachable() async throws {
        _ = try await reader.query("SELECT 1 AS ok")
    }
}

/// The metadata store found something it cannot make sense of.
public enum MetadataError: Error, CustomStringConvertible {
    case corrupt(String)

    public var description: String {
        switch self {
        case .corrupt(let what): "metadata corrupt: \(what)"
        }
    }
}

extension SQLiteData {
    /// SQLite integers are 64-bit; sqlite-nio spells them `Int`.
    static func int64(_ value: Int64) -> SQLiteData { .integer(Int(value)) }

    var int64: Int64? { integer.map(Int64.init) }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
