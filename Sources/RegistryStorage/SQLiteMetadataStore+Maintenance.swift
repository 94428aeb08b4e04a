import Foundation
import RegistryModel
import SQLiteNIO

/// Garbage collection, retention, scrubbing and usage on SQLite.
///
/// A collection is a sequence of short write transactions (tags, then each repository's
/// manifests, then links, then blobs in batches), each re-deciding from the rows as they are at
/// that moment, so pushes go on between them and nothing a concurrent push just wrote is lost:
/// whatever a transaction deletes was unreferenced while it held the write lock. Files are
/// removed only after their records are committed as gone (see `blob_tombstones` in
/// ``SQLiteSchema``).
extension SQLiteMetadataStore: MetadataMaintenance {
    /// Blobs deleted per transaction: long enough to amortise, short enough not to stall pushes.
    static let blobsPerSweep = 256

    public func tagRecords(in repository: RepositoryName) async throws -> [TagRecord] {
        let rows = try await reader.query(
            """
            SELECT t.name, t.manifest_digest, t.updated_at, t.pulled_at
            FROM repositories r JOIN tags t ON t.repository_id = r.id
            WHERE r.name = ? ORDER BY t.name
            """,
            [.text(repository.value)])
        return try rows.map { row in
            guard let name = row.column("name")?.string, let tag = Tag(name),
                  let digest = try? Digest(parsing: row.column("manifest_digest")?.string ?? ""),
                  let pushed = row.column("updated_at")?.integer
            else { throw MetadataError.corrupt("tag row is incomplete") }
            return TagRecord(
                tag: tag, manifest: digest, pushedAt: Self.date(milliseconds: pushed),
                pulledAt: row.column("pulled_at")?.integer.map(Self.date(milliseconds:)))
        }
    }

    // MARK: Collection

    public func collectGarbage(
        _ plan: CollectionPlan, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> CollectionResult {
        let repositories = try await allRepositories()
        let grace = Self.milliseconds(plan.graceCutoff)
        let sweeps = repositories.map { (id: $0.id, name: $0.name, sweep: plan.manifests($0.name)) }

        if plan.dryRun {
            // Every step in one transaction that is rolled back: later steps see what earlier
            // ones would have deleted, so the figures are the ones a real run would give.
            return try await transaction(rollingBack: true) { db in
                var result = CollectionResult()
                result.deletedTags = try await Self.deleteTags(plan.tagDeletions, on: db)
                for (id, name, sweep) in sweeps {
                    let deleted = try await Self.sweepManifests(repositoryID: id, sweep, graceCutoff: grace, on: db)
                    if !deleted.isEmpty { result.deletedManifests[name] = deleted }
                }
                result.removedLinks = try await Self.sweepLinks(graceCutoff: grace, on: db)
                result.deletedRepositories = try await Self.deleteEmptyRepositories(on: db)
                result.deletedBlobs = try await Self.sweepBlobs(limit: nil, on: db)
                return result
            }
        }

        // What an interrupted run (of this process or another) left to remove goes first.
        try await disposeOfForgottenBlobs(disposing: disposing)
        var result = CollectionResult()
        result.deletedTags = try await transaction { db in
            let deleted = try await Self.deleteTags(plan.tagDeletions, on: db)
            try await Self.appendEvents(plan.events(ofDeletedTags: deleted), on: db)
            return deleted
        }
        for (id, name, sweep) in sweeps where sweep != .keepUntagged {
            let deleted = try await transaction { db in
                let deleted = try await Self.sweepManifests(repositoryID: id, sweep, graceCutoff: grace, on: db)
                if !deleted.isEmpty { try await Self.appendEvents(plan.events(.manifests(name, deleted)), on: db) }
                return deleted
            }
            if !deleted.isEmpty { result.deletedManifests[name] = deleted }
        }
        result.removedLinks = try await transaction { db in try await Self.sweepLinks(graceCutoff: grace, on: db) }
        result.deletedRepositories = try await transaction { db in
            let deleted = try await Self.deleteEmptyRepositories(on: db)
            if !deleted.isEmpty { try await Self.appendEvents(plan.events(.repositories(deleted)), on: db) }
            return deleted
        }
        while true {
            let batch = try await transaction { db in try await Self.sweepBlobs(limit: Self.blobsPerSweep, on: db) }
            result.deletedBlobs += batch
            try await disposeOfForgottenBlobs(disposing: disposing)
            if batch.count < Self.blobsPerSweep { break }
        }
        return result
    }

    @discardableResult
    public func disposeOfForgottenBlobs(disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws -> Int {
        var disposed = 0
        while true {
            let batch = try await transaction { db in
                let rows = try await db.query(
                    "SELECT digest, quarantine FROM blob_tombstones ORDER BY digest LIMIT ?", [.int64(Int64(Self.blobsPerSweep))])
                let tombstones = try rows.map { row in
                    BlobTombstone(
                        digest: try Digest(parsing: row.column("digest")?.string ?? ""),
                        quarantine: row.column("quarantine")?.integer == 1)
                }
                guard !tombstones.isEmpty else { return 0 }
                // Inside the transaction: an upload of one of these digests waits for the write
                // lock, then places its own file and lifts the tombstone. A crash after the files
                // went but before the commit leaves the tombstones, and the next run's removal
                // finds nothing to remove.
                try await disposing(tombstones)
                for chunk in tombstones.chunked(Self.rowsPerStatement) {
                    let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                    _ = try await db.query(
                        "DELETE FROM blob_tombstones WHERE digest IN (\(placeholders))", chunk.map { .text($0.digest.description) })
                }
                return tombstones.count
            }
            disposed += batch
            if batch < Self.blobsPerSweep { return disposed }
        }
    }

    public func removeUnrecordedBlobFiles(
        _ candidates: [Digest], removing: @escaping @Sendable ([Digest]) async throws -> Void
    ) async throws -> [Digest] {
        var removed: [Digest] = []
        for chunk in candidates.chunked(Self.rowsPerStatement) {
            removed += try await transaction { db in
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                let binds = chunk.map { SQLiteData.text($0.description) }
                let owned = Set(try await db.query(
                    """
                    SELECT digest FROM blobs WHERE digest IN (\(placeholders))
                    UNION SELECT digest FROM blob_tombstones WHERE digest IN (\(placeholders))
                    """,
                    binds + binds
                ).compactMap { $0.column("digest")?.string })
                let orphans = chunk.filter { !owned.contains($0.description) }
                if !orphans.isEmpty { try await removing(orphans) }
                return orphans
            }
        }
        return removed
    }

    /// Records a tombstone for each digest (whose blob record was just deleted in the same
    /// transaction).
    static func entomb(_ digests: [Digest], quarantine: Bool, on db: SQLiteConnection) async throws {
        let now = Self.now
        for chunk in digests.chunked(rowsPerStatement / 3) {
            let placeholders = Array(repeating: "(?, ?, ?)", count: chunk.count).joined(separator: ", ")
            _ = try await db.query(
                """
                INSERT INTO blob_tombstones (digest, quarantine, created_at) VALUES \(placeholders)
                ON CONFLICT (digest) DO UPDATE SET quarantine = max(quarantine, excluded.quarantine)
                """,
                chunk.flatMap { [.text($0.description), .int64(quarantine ? 1 : 0), .int64(now)] })
        }
    }

    public func repositoryNames() async throws -> [RepositoryName] {
        try await allRepositories().map(\.name)
    }

    private func allRepositories() async throws -> [(id: Int64, name: RepositoryName)] {
        try await reader.query("SELECT id, name FROM repositories ORDER BY name").compactMap { row in
            guard let id = row.column("id")?.integer, let name = row.column("name")?.string.flatMap(RepositoryName.init) else {
                return nil
            }
            return (Int64(id), name)
        }
    }

    /// Deletes each planned tag that still points where retention saw it.
    private static func deleteTags(_ deletions: [RepositoryName: [TagRecord]], on db: SQLiteConnection) async throws -> [RepositoryName: [Tag]] {
        var deleted: [RepositoryName: [Tag]] = [:]
        for (repository, records) in deletions {
            guard let repositoryID = try await repositoryID(repository, on: db) else { continue }
            for record in records {
                let rows = try await db.query(
                    "DELETE FROM tags WHERE repository_id = ? AND name = ? AND manifest_digest = ? RETURNING name",
                    [.int64(repositoryID), .text(record.tag.value), .text(record.manifest.description)])
                if !rows.isEmpty { deleted[repository, default: []].append(record.tag) }
            }
        }
        return deleted
    }

    /// Deletes the repository's manifests that nothing keeps (see ``ManifestSweep``), with their
    /// outgoing references.
    private static func sweepManifests(
        repositoryID: Int64, _ sweep: ManifestSweep, graceCutoff: Int64, on db: SQLiteConnection
    ) async throws -> [Digest] {
        guard case .deleteUntagged(let olderThan, let keepReferrers) = sweep else { return [] }
        // Roots: tagged manifests and recent ones. Then, repeatedly: an index's child manifests,
        // and (when referrers follow their subject) manifests whose subject is kept.
        let referrers = keepReferrers
            ? "UNION SELECT m.digest FROM manifests m JOIN kept k ON m.subject = k.digest WHERE m.repository_id = ?1"
            : ""
        let deleted = try await db.query(
            """
            WITH RECURSIVE kept(digest) AS (
                SELECT manifest_digest FROM tags WHERE repository_id = ?1
                UNION SELECT digest FROM manifests WHERE repository_id = ?1 AND created_at >= ?2
                UNION SELECT r.child_digest FROM manifest_references r JOIN kept k ON r.manifest_digest = k.digest
                    WHERE r.repository_id = ?1 AND r.child_is_manifest = 1
                \(referrers)
            )
            DELETE FROM manifests WHERE repository_id = ?1 AND digest NOT IN (SELECT digest FROM kept)
            RETURNING digest
            """,
            // Kept when younger than either the grace period or the rule's age.
            [.int64(repositoryID), .int64(min(milliseconds(olderThan), graceCutoff))])
        guard !deleted.isEmpty else { return [] }
        _ = try await db.query(
            """
            DELETE FROM manifest_references WHERE repository_id = ?1
            AND manifest_digest NOT IN (SELECT digest FROM manifests WHERE repository_id = ?1)
            """,
            [.int64(repositoryID)])
        return try deleted.map { try Digest(parsing: $0.column("digest")?.string ?? "") }.sorted()
    }

    /// Withdraws links that no manifest of their repository references and that are older than
    /// the grace period (layers of pushes that never got a manifest, layers of deleted images).
    private static func sweepLinks(graceCutoff: Int64, on db: SQLiteConnection) async throws -> Int {
        try await db.query(
            """
            DELETE FROM repository_blobs WHERE created_at < ? AND NOT EXISTS (
                SELECT 1 FROM manifest_references mr
                WHERE mr.child_digest = repository_blobs.digest AND mr.repository_id = repository_blobs.repository_id)
            RETURNING digest
            """,
            [.int64(graceCutoff)]
        ).count
    }

    /// Repositories left with nothing: no tag, manifest or blob link.
    private static func deleteEmptyRepositories(on db: SQLiteConnection) async throws -> [RepositoryName] {
        try await db.query(
            """
            DELETE FROM repositories WHERE
                NOT EXISTS (SELECT 1 FROM tags WHERE repository_id = repositories.id)
                AND NOT EXISTS (SELECT 1 FROM manifests WHERE repository_id = repositories.id)
                AND NOT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = repositories.id)
            RETURNING name
            """
        ).compactMap { $0.column("name")?.string.flatMap(RepositoryName.init) }.sorted { $0.value < $1.value }
    }

    /// Deletes up to `limit` blobs that no repository links and no manifest references, leaving
    /// a tombstone for each (its file is removed after this transaction commits).
    private static func sweepBlobs(limit: Int?, on db: SQLiteConnection) async throws -> [BlobRecord] {
        let rows = try await db.query(
            """
            DELETE FROM blobs WHERE digest IN (
                SELECT b.digest FROM blobs b
                WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
                AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.child_digest = b.digest)
                ORDER BY b.digest LIMIT ?)
            RETURNING digest, size
            """,
            [.int64(Int64(limit ?? -1))])
        let records = try rows.map { row in
            guard let size = row.column("size")?.integer else { throw MetadataError.corrupt("blob row without size") }
            return BlobRecord(digest: try Digest(parsing: row.column("digest")?.string ?? ""), size: Int64(size))
        }.sorted { $0.digest < $1.digest }
        try await entomb(records.map(\.digest), quarantine: false, on: db)
        return records
    }

    // MARK: Use, deletion, scrubbing, usage

    public func recordUse(tags: [RepositoryName: Set<Tag>], blobs: [RepositoryName: Set<Digest>], at date: Date) async throws {
        guard !tags.isEmpty || !blobs.isEmpty else { return }
        let when = Self.milliseconds(date)
        try await transaction { db in
            for (repository, names) in tags {
                guard let repositoryID = try await Self.repositoryID(repository, on: db) else { continue }
                for batch in Array(names).chunked(Self.rowsPerStatement) {
                    let placeholders = Array(repeating: "?", count: batch.count).joined(separator: ", ")
                    _ = try await db.query(
                        "UPDATE tags SET pulled_at = ? WHERE repository_id = ? AND name IN (\(placeholders))",
                        [.int64(when), .int64(repositoryID)] + batch.map { .text($0.value) })
                }
            }
            for (repository, digests) in blobs {
                guard let repositoryID = try await Self.repositoryID(repository, on: db) else { continue }
                for batch in Array(digests).chunked(Self.rowsPerStatement) {
                    let placeholders = Array(repeating: "?", count: batch.count).joined(separator: ", ")
                    // A link in use counts as recent: a client that saw the blob (docker's HEAD
                    // before skipping a layer) is about to reference it from a manifest.
                    _ = try await db.query(
                        "UPDATE repository_blobs SET created_at = max(created_at, ?) WHERE repository_id = ? AND digest IN (\(placeholders))",
                        [.int64(when), .int64(repositoryID)] + batch.map { .text($0.description) })
                }
            }
        }
    }

    public func deleteRepository(_ repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool {
        try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(repository, on: db) else { return false }
            // The names come back only to be checked (a repository may hold very many tags).
            let returning = frozen.isEmpty ? "" : " RETURNING name"
            let tags = try await db.query("DELETE FROM tags WHERE repository_id = ?\(returning)", [.int64(repositoryID)])
            if let tag = frozen.first(of: tags.compactMap { $0.column("name")?.string }) { throw FrozenTagChange(tag: tag) }
            for table in ["manifest_references", "manifests", "repository_blobs"] {
                _ = try await db.query("DELETE FROM \(table) WHERE repository_id = ?", [.int64(repositoryID)])
            }
            _ = try await db.query("DELETE FROM repositories WHERE id = ?", [.int64(repositoryID)])
            try await Self.appendEvents(events, on: db)
            return true
        }
    }

    public func blobRecords(after last: Digest?, limit: Int) async throws -> [BlobRecord] {
        try await reader.query(
            "SELECT digest, size FROM blobs WHERE digest > ? ORDER BY digest LIMIT ?",
            [.text(last?.description ?? ""), .int64(Int64(limit))]
        ).map { row in
            guard let size = row.column("size")?.integer else { throw MetadataError.corrupt("blob row without size") }
            return BlobRecord(digest: try Digest(parsing: row.column("digest")?.string ?? ""), size: Int64(size))
        }
    }

    public func forgetBlob(_ digest: Digest, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws {
        try await transaction { db in
            let deleted = try await db.query("DELETE FROM blobs WHERE digest = ? RETURNING digest", [.text(digest.description)])
            if !deleted.isEmpty { try await Self.entomb([digest], quarantine: true, on: db) }
        }
        try await disposeOfForgottenBlobs(disposing: disposing)
    }

    public func recordBlobUse(_ digest: Digest, in repository: RepositoryName, at date: Date) async throws -> Bool {
        // Through the group commit: the HEADs of a push's layers arrive together.
        let rows = try await commits.commit(.init(
            sql: """
                UPDATE repository_blobs SET created_at = max(created_at, ?)
                WHERE repository_id = (SELECT id FROM repositories WHERE name = ?) AND digest = ?
                RETURNING digest
                """,
            binds: [.int64(Self.milliseconds(date)), .text(repository.value), .text(digest.description)]))
        return !rows.isEmpty
    }

    public func danglingBlobReferences() async throws -> [Digest] {
        try await reader.query(
            """
            SELECT digest FROM repository_blobs WHERE digest NOT IN (SELECT digest FROM blobs)
            UNION
            SELECT child_digest FROM manifest_references
            WHERE child_is_manifest = 0 AND child_digest NOT IN (SELECT digest FROM blobs)
            ORDER BY 1
            """
        ).map { try Digest(parsing: $0.column("digest")?.string ?? "") }
    }

    public func usage(of repository: RepositoryName?) async throws -> UsageFigures {
        let repositories = try await repositoryFigures(named: repository).map(\.figures)
        let totals = try await reader.query("SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM blobs").first
        return UsageFigures(
            repositories: repositories, logical: repositories.reduce(0) { $0 + $1.logical },
            physical: Int64(totals?.column("bytes")?.integer ?? 0), blobs: totals?.column("blobs")?.integer ?? 0)
    }

    static func date(milliseconds: Int) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
