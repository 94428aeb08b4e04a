import Foundation
import Logging
import NIOCore
import PostgresNIO
import RegistryModel
import RegistryStorage

/// ``MetadataStore`` on PostgreSQL through vapor/postgres-nio, for registries that share one
/// database; the same semantics as `SQLiteMetadataStore`, checked by one suite against both.
///
/// Concurrency, mapped from SQLite's:
/// - writes: one at a time across every process (see ``PostgresWriteLock``), READ COMMITTED, so a
///   write transaction sees the database as SQLite's `BEGIN IMMEDIATE` does: decisions such as
///   "no repository links this blob any more" and the deletions they lead to cannot interleave
///   with another writer;
/// - reads: single statements on any pooled connection, unlocked, each on its own snapshot (as
///   SQLite's WAL readers); a read that needs several statements to agree takes one REPEATABLE
///   READ, read-only transaction (``readSnapshot(_:)``);
/// - small writes (upload sessions, finished uploads, blob uses) share transactions
///   (``PostgresGroupCommit``).
public final class PostgresMetadataStore: MetadataStore {
    let client: PostgresClient
    let logger: Logger
    let lock: PostgresWriteLock
    let commits: PostgresGroupCommit
    /// Runs the pool (postgres-nio's `PostgresClient.run()`); cancelled by ``close()``.
    private let runner: Task<Void, Never>

    private init(client: PostgresClient, runner: Task<Void, Never>, lock: PostgresWriteLock, logger: Logger) {
        self.client = client
        self.runner = runner
        self.lock = lock
        self.logger = logger
        commits = PostgresGroupCommit(client: client, lock: lock, logger: logger)
    }

    /// Connects, creates or upgrades the schema (refusing one newer than this registry knows),
    /// and starts the connection pool. Fails at once, with the server's reason, when the
    /// database cannot be reached or logged in to.
    public static func open(configuration: PostgresMetadataConfiguration, logger: Logger) async throws -> PostgresMetadataStore {
        let lock = PostgresWriteLock(schema: configuration.schema)
        let connection = try await PostgresConnection.connect(
            configuration: try configuration.connectionConfiguration(), id: 0, logger: logger)
        do {
            try await PostgresSchema.migrate(on: connection, schema: configuration.schema, lock: lock, logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        let client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
        // The pool warns about a lease before `run()` has begun, and a command's first query
        // comes at once: return only once the runner is about to call it.
        let (runnerStarted, signal) = AsyncStream<Void>.makeStream()
        let runner = Task {
            signal.finish()
            await client.run()
        }
        for await _ in runnerStarted {}
        return PostgresMetadataStore(client: client, runner: runner, lock: lock, logger: logger)
    }

    /// Closes the pool's connections and waits until they are closed.
    public func close() async throws {
        runner.cancel()
        await runner.value
    }

    /// A number that moves whenever a write transaction (of any process) committed since the
    /// last call: what `Metadata` checks to notice writes of other registries.
    public func changeCounter() async throws -> Int64 {
        for try await value in try await client.query("SELECT value FROM change_counter", logger: logger).decode(Int64.self) {
            return value
        }
        throw MetadataError.corrupt("change_counter has no row")
    }

    // MARK: Transactions

    /// Runs `body` in one write transaction (see ``PostgresWriteLock``); with `rollingBack`,
    /// undoes it all at the end (dry runs).
    func transaction<T: Sendable>(
        rollingBack: Bool = false, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let (client, lock, logger) = (self.client, self.lock, self.logger)
        return try await lock.withQueue {
            try await client.withConnection { connection in
                try await lock.inTransaction(on: connection, logger: logger, rollingBack: rollingBack, body)
            }
        }
    }

    /// Runs `body`'s reads on one snapshot: a REPEATABLE READ, read-only transaction, which takes
    /// no lock and waits for no writer.
    func readSnapshot<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                await PostgresWriteLock.abandon(connection, logger: logger)
                throw error
            }
        }
    }

    /// Runs one statement outside any explicit transaction (reads).
    func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await client.query(query, logger: logger)
    }

    static var now: Int64 { milliseconds(Date()) }
    static func milliseconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970 * 1000) }
    static func date(milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static func repositoryID(_ name: RepositoryName, on db: PostgresConnection, logger: Logger) async throws -> Int64? {
        for try await id in try await db.query("SELECT id FROM repositories WHERE name = \(name.value)", logger: logger)
            .decode(Int64.self) {
            return id
        }
        return nil
    }

    static func ensureRepository(_ name: RepositoryName, on db: PostgresConnection, logger: Logger) async throws -> Int64 {
        if let id = try await repositoryID(name, on: db, logger: logger) { return id }
        for try await id in try await db.query(
            "INSERT INTO repositories (name, created_at) VALUES (\(name.value), \(now)) RETURNING id", logger: logger
        ).decode(Int64.self) {
            return id
        }
        throw MetadataError.corrupt("repository insert returned no id")
    }

    // MARK: Blobs

    public func blobSize(_ digest: Digest, in repository: RepositoryName) async throws -> Int64? {
        try await query(
            """
            SELECT b.size FROM repositories r
            JOIN repository_blobs rb ON rb.repository_id = r.id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.name = \(repository.value) AND rb.digest = \(digest.description)
            """
        ).decode(Int64.self).first { _ in true }
    }

    public func blobSize(_ digest: Digest) async throws -> Int64? {
        try await query("SELECT size FROM blobs WHERE digest = \(digest.description)").decode(Int64.self).first { _ in true }
    }

    public func mountBlob(_ digest: Digest, from source: RepositoryName?, into repository: RepositoryName, limit: Int64?) async throws -> Bool {
        let logger = self.logger
        // Checked and linked in one write transaction: garbage collection, which deletes a blob
        // only when no repository links it, cannot slip in between, nor can another link past
        // the quota.
        return try await transaction { db in
            let present: PostgresQuery = if let source {
                """
                SELECT 1 FROM repositories r
                JOIN repository_blobs rb ON rb.repository_id = r.id
                JOIN blobs b ON b.digest = rb.digest
                WHERE r.name = \(source.value) AND rb.digest = \(digest.description)
                """
            } else {
                "SELECT 1 FROM blobs WHERE digest = \(digest.description)"
            }
            guard try await !db.query(present, logger: logger).collect().isEmpty else { return false }
            if let limit {
                for try await exceeds in try await db.query(
                    """
                    SELECT registry_link_exceeds_quota(
                        \(repository.value), \(digest.description), (SELECT size FROM blobs WHERE digest = \(digest.description)), \(limit))
                    """,
                    logger: logger
                ).decode(Bool.self) where exceeds {
                    throw QuotaLimitReached()
                }
            }
            let repositoryID = try await Self.ensureRepository(repository, on: db, logger: logger)
            // A link made again counts as new, so that the grace period of garbage collection
            // starts over (a mount is usually followed by a manifest).
            try await db.query(
                """
                INSERT INTO repository_blobs (repository_id, digest, created_at) VALUES (\(repositoryID), \(digest.description), \(Self.now))
                ON CONFLICT (repository_id, digest) DO UPDATE SET created_at = EXCLUDED.created_at
                """,
                logger: logger)
            return true
        }
    }

    public func unlinkBlob(_ digest: Digest, from repository: RepositoryName) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            try await !db.query(
                """
                DELETE FROM repository_blobs
                WHERE repository_id = (SELECT id FROM repositories WHERE name = \(repository.value)) AND digest = \(digest.description)
                RETURNING digest
                """,
                logger: logger
            ).collect().isEmpty
        }
    }

    // MARK: Manifests and tags

    public func manifest(_ digest: Digest, in repository: RepositoryName) async throws -> StoredManifest? {
        for try await (mediaType, content) in try await query(
            """
            SELECT m.media_type, m.content FROM repositories r
            JOIN manifests m ON m.repository_id = r.id
            WHERE r.name = \(repository.value) AND m.digest = \(digest.description)
            """
        ).decode((String, ByteBuffer).self) {
            return StoredManifest(digest: digest, mediaType: mediaType, content: content)
        }
        return nil
    }

    public func manifest(taggedAs tag: Tag, in repository: RepositoryName) async throws -> StoredManifest? {
        for try await (digest, mediaType, content) in try await query(
            """
            SELECT m.digest, m.media_type, m.content FROM repositories r
            JOIN tags t ON t.repository_id = r.id
            JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
            WHERE r.name = \(repository.value) AND t.name = \(tag.value)
            """
        ).decode((String, String, ByteBuffer).self) {
            return StoredManifest(digest: try Self.digest(digest), mediaType: mediaType, content: content)
        }
        return nil
    }

    public func putManifest(
        _ manifest: NewManifest, tags: [Tag], in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> PutManifestOutcome {
        let logger = self.logger
        let annotations = try manifest.annotations.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return try await transaction { db in
            let existingID = try await Self.repositoryID(repository, on: db, logger: logger)
            try await Self.requireUnmoved(tags.filter(frozen.contains), to: manifest.digest, repositoryID: existingID, on: db, logger: logger)
            if !manifest.referencesMayBeAbsent {
                let missing =
                    try await Self.absent(manifest.blobReferences, from: "repository_blobs", repositoryID: existingID, on: db, logger: logger)
                    + Self.absent(manifest.manifestReferences, from: "manifests", repositoryID: existingID, on: db, logger: logger)
                guard missing.isEmpty else { return .missingReferences(missing) }
            }
            let repositoryID: Int64
            if let existingID { repositoryID = existingID } else {
                repositoryID = try await Self.ensureRepository(repository, on: db, logger: logger)
            }
            let now = Self.now
            let digest = manifest.digest.description
            try await db.query(
                """
                INSERT INTO manifests (repository_id, digest, media_type, content, subject, artifact_type, annotations, created_at)
                VALUES (\(repositoryID), \(digest), \(manifest.mediaType), \(manifest.content), \(manifest.subject?.description),
                    \(manifest.artifactType), \(annotations), \(now))
                ON CONFLICT (repository_id, digest) DO NOTHING
                """,
                logger: logger)
            let children = manifest.blobReferences.map { ($0.description, false) } + manifest.manifestReferences.map { ($0.description, true) }
            if !children.isEmpty {
                // One statement for all edges, whatever their number.
                try await db.query(
                    """
                    INSERT INTO manifest_references (repository_id, manifest_digest, child_digest, child_is_manifest)
                    SELECT \(repositoryID), \(digest), child, is_manifest
                    FROM unnest(\(children.map(\.0))::text[], \(children.map(\.1))::boolean[]) AS c(child, is_manifest)
                    ON CONFLICT DO NOTHING
                    """,
                    logger: logger)
            }
            if !tags.isEmpty {
                try await db.query(
                    """
                    INSERT INTO tags (repository_id, name, manifest_digest, updated_at)
                    SELECT DISTINCT \(repositoryID), name, \(digest), \(now)::bigint FROM unnest(\(tags.map(\.value))::text[]) AS t(name)
                    ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = EXCLUDED.manifest_digest, updated_at = EXCLUDED.updated_at
                    """,
                    logger: logger)
            }
            try await Self.appendEvents(events, on: db, logger: logger)
            return .stored
        }
    }

    /// Throws ``FrozenTagChange`` for the first of `frozen` that points at another manifest
    /// than `digest`. Write transactions run one at a time (``PostgresWriteLock``), so nothing
    /// moves the tags between this and the write.
    private static func requireUnmoved(
        _ frozen: [Tag], to digest: Digest, repositoryID: Int64?, on db: PostgresConnection, logger: Logger
    ) async throws {
        guard let repositoryID, !frozen.isEmpty else { return }
        for try await name in try await db.query(
            """
            SELECT name FROM tags WHERE repository_id = \(repositoryID) AND manifest_digest <> \(digest.description)
            AND name = ANY(\(frozen.map(\.value))) ORDER BY name LIMIT 1
            """,
            logger: logger
        ).decode(String.self) {
            if let tag = Tag(name) { throw FrozenTagChange(tag: tag) }
        }
    }

    /// Which of `digests` have no row in `table` (`repository_blobs` or `manifests`) for the
    /// repository, in one query.
    private static func absent(
        _ digests: [Digest], from table: String, repositoryID: Int64?, on db: PostgresConnection, logger: Logger
    ) async throws -> [Digest] {
        guard let repositoryID else { return digests }
        guard !digests.isEmpty else { return [] }
        var present: Set<String> = []
        let query: PostgresQuery =
            "SELECT digest FROM \(unescaped: table) WHERE repository_id = \(repositoryID) AND digest = ANY(\(digests.map(\.description)))"
        for try await digest in try await db.query(query, logger: logger).decode(String.self) { present.insert(digest) }
        return digests.filter { !present.contains($0.description) }
    }

    public func deleteManifest(
        _ digest: Digest, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags
    ) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(repository, on: db, logger: logger) else { return false }
            let deleted = try await db.query(
                "DELETE FROM manifests WHERE repository_id = \(repositoryID) AND digest = \(digest.description) RETURNING digest",
                logger: logger
            ).collect()
            guard !deleted.isEmpty else { return false }
            try await Self.runTagDeletion(
                "DELETE FROM tags WHERE repository_id = \(repositoryID) AND manifest_digest = \(digest.description) RETURNING name",
                keeping: frozen, on: db, logger: logger)
            try await db.query(
                "DELETE FROM manifest_references WHERE repository_id = \(repositoryID) AND manifest_digest = \(digest.description)",
                logger: logger)
            try await Self.appendEvents(events, on: db, logger: logger)
            return true
        }
    }

    public func deleteTag(_ tag: Tag, in repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            let deleted = try await !db.query(
                """
                DELETE FROM tags WHERE repository_id = (SELECT id FROM repositories WHERE name = \(repository.value))
                AND name = \(tag.value) RETURNING name
                """,
                logger: logger
            ).collect().isEmpty
            if deleted && frozen.contains(tag) { throw FrozenTagChange(tag: tag) }
            if deleted { try await Self.appendEvents(events, on: db, logger: logger) }
            return deleted
        }
    }

    /// Runs a `DELETE FROM tags ... RETURNING name` and throws ``FrozenTagChange`` (rolling the
    /// transaction back) when it took a frozen tag. The names are streamed, never all held.
    static func runTagDeletion(_ statement: PostgresQuery, keeping frozen: FrozenTags, on db: PostgresConnection, logger: Logger) async throws {
        for try await name in try await db.query(statement, logger: logger).decode(String.self) {
            if let tag = frozen.first(of: [name]) { throw FrozenTagChange(tag: tag) }
        }
    }

    public func tags(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [String]? {
        // One statement: a row with a NULL name when the repository has no tag (after `last`),
        // no row when the repository is unknown.
        var known = false
        var names: [String] = []
        for try await name in try await query(
            """
            SELECT t.name FROM repositories r LEFT JOIN LATERAL (
                SELECT name FROM tags WHERE repository_id = r.id AND name > \(last ?? "") ORDER BY name LIMIT \(max(limit, 0))
            ) t ON true
            WHERE r.name = \(repository.value)
            """
        ).decode(String?.self) {
            known = true
            if let name { names.append(name) }
        }
        return known ? names : nil
    }

    public func repositories(after last: String?, limit: Int) async throws -> [String] {
        guard limit > 0 else { return [] }
        var names: [String] = []
        for try await name in try await query(
            "SELECT name FROM repositories WHERE name > \(last ?? "") ORDER BY name LIMIT \(limit)"
        ).decode(String.self) {
            names.append(name)
        }
        return names
    }

    public func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws -> [Descriptor] {
        var descriptors: [Descriptor] = []
        for try await (digest, mediaType, size, type, annotations) in try await query(
            """
            SELECT m.digest, m.media_type, octet_length(m.content)::bigint, m.artifact_type, m.annotations
            FROM repositories r JOIN manifests m ON m.repository_id = r.id
            WHERE r.name = \(repository.value) AND m.subject = \(digest.description)
            AND (\(artifactType)::text IS NULL OR m.artifact_type = \(artifactType))
            ORDER BY m.digest
            """
        ).decode((String, String, Int64, String?, String?).self) {
            descriptors.append(Descriptor(
                mediaType: mediaType, digest: try Self.digest(digest), size: size, artifactType: type,
                annotations: try annotations.map { try JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }))
        }
        return descriptors
    }

    // MARK: Upload sessions

    public func createUpload(_ upload: UploadRecord) async throws {
        try await commits.commit(.init(query: """
            INSERT INTO uploads (id, repository, committed_length, created_at, updated_at)
            VALUES (\(upload.id.value), \(upload.repository.value), \(upload.committedLength),
                \(Self.milliseconds(upload.createdAt)), \(Self.milliseconds(upload.updatedAt)))
            """))
    }

    public func upload(_ id: UploadID) async throws -> UploadRecord? {
        for try await (repository, length, created, updated) in try await query(
            "SELECT repository, committed_length, created_at, updated_at FROM uploads WHERE id = \(id.value)"
        ).decode((String, Int64, Int64, Int64).self) {
            return try Self.uploadRecord(id: id, repository: repository, length: length, created: created, updated: updated)
        }
        return nil
    }

    public func updateUpload(_ id: UploadID, committedLength: Int64, from previousLength: Int64) async throws -> Bool {
        try await commits.commit(.init(
            query: """
                UPDATE uploads SET committed_length = \(committedLength), updated_at = \(Self.now)
                WHERE id = \(id.value) AND committed_length = \(previousLength) RETURNING id
                """)) > 0
    }

    public func deleteUpload(_ id: UploadID) async throws {
        try await commits.commit(.init(query: "DELETE FROM uploads WHERE id = \(id.value)"))
    }

    public func finishUpload(
        _ id: UploadID, linking digest: Digest, size: Int64, into repository: RepositoryName, limit: Int64?,
        storing data: @escaping @Sendable () async throws -> Void
    ) async throws {
        // As on SQLite: the data is confirmed in place inside the transaction that records it,
        // under the write lock, so that garbage collection (which removes blob files under the
        // same lock) cannot remove it between that check and the commit. One statement does the
        // writes (`registry_finish_upload` in ``PostgresSchema``), only when the quota allows
        // them (no row otherwise); concurrent finishes share a transaction, each in turn.
        let rows = try await commits.commit(.init(
            preparation: data,
            query: """
                SELECT registry_finish_upload(\(id.value), \(repository.value), \(digest.description), \(size), \(Self.now))
                WHERE \(limit)::bigint IS NULL
                OR NOT registry_link_exceeds_quota(\(repository.value), \(digest.description), \(size), \(limit))
                """))
        guard rows == 1 else { throw QuotaLimitReached() }
    }

    public func uploads(notUpdatedSince date: Date) async throws -> [UploadRecord] {
        var records: [UploadRecord] = []
        for try await (id, repository, length, created, updated) in try await query(
            """
            SELECT id, repository, committed_length, created_at, updated_at FROM uploads
            WHERE updated_at < \(Self.milliseconds(date))
            """
        ).decode((String, String, Int64, Int64, Int64).self) {
            guard let id = UploadID(id) else { continue }
            records.append(try Self.uploadRecord(id: id, repository: repository, length: length, created: created, updated: updated))
        }
        return records
    }

    private static func uploadRecord(id: UploadID, repository: String, length: Int64, created: Int64, updated: Int64) throws -> UploadRecord {
        guard let repository = RepositoryName(repository) else { throw MetadataError.corrupt("upload row \(id) is incomplete") }
        return UploadRecord(
            id: id, repository: repository, committedLength: length,
            createdAt: date(milliseconds: created), updatedAt: date(milliseconds: updated))
    }

    public func checkReachable() async throws {
        _ = try await query("SELECT 1").collect()
    }

    static func digest(_ string: String) throws -> Digest {
        do {
            return try Digest(parsing: string)
        } catch {
            throw MetadataError.corrupt("invalid digest \(string)")
        }
    }
}

/// Maintenance and cache eviction are in their own files; with them, a full database for ``Metadata``.
extension PostgresMetadataStore: MetadataDatabase {
    public static var schemaVersion: Int { PostgresSchema.version }
}

extension PostgresMetadataStore: ExclusiveJobs {
    /// "OCJB": this program's job claims among the database's advisory locks.
    static let jobLockClass: Int32 = 0x4F43_4A42

    /// Claims the job with a session-level advisory lock on a connection held for the job's
    /// duration: the database releases it when the job ends or when the connection drops (the
    /// replica died), so a claim never outlives its holder.
    public func runExclusively<T: Sendable>(_ job: String, _ body: @Sendable () async throws -> T) async throws -> T? {
        let key = lock.jobKey(job)
        let logger = self.logger
        return try await client.withConnection { connection -> T? in
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(\(Self.jobLockClass), \(key))", logger: logger)
            var claimed = false
            for try await value in rows.decode(Bool.self) { claimed = value }
            guard claimed else { return nil }
            do {
                let result = try await body()
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.jobLockClass), \(key))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.jobLockClass), \(key))", logger: logger)
                throw error
            }
        }
    }
}
