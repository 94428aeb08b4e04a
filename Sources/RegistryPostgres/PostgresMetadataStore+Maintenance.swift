import Foundation
import Logging
import PostgresNIO
import RegistryModel
import RegistryStorage

/// Garbage collection, retention, scrubbing and usage on PostgreSQL, step for step as on SQLite.
///
/// A collection is a sequence of short write transactions (tags, then each repository's
/// manifests, then links, then blobs in batches), each re-deciding from the rows as they are
/// while it holds the write lock (see ``PostgresWriteLock``), so pushes go on between them and
/// nothing a concurrent push just wrote is lost. Files are removed only after their records are
/// committed as gone (tombstones, see ``PostgresSchema``).
extension PostgresMetadataStore: MetadataMaintenance {
    /// Blobs deleted per transaction: long enough to amortise, short enough not to stall pushes.
    static let blobsPerSweep = 256

    public func tagRecords(in repository: RepositoryName) async throws -> [TagRecord] {
        var records: [TagRecord] = []
        for try await (name, digest, pushed, pulled) in try await query(
            """
            SELECT t.name, t.manifest_digest, t.updated_at, t.pulled_at
            FROM repositories r JOIN tags t ON t.repository_id = r.id
            WHERE r.name = \(repository.value) ORDER BY t.name
            """
        ).decode((String, String, Int64, Int64?).self) {
            guard let tag = Tag(name) else { throw MetadataError.corrupt("tag row is incomplete") }
            records.append(TagRecord(
                tag: tag, manifest: try Self.digest(digest), pushedAt: Self.date(milliseconds: pushed),
                pulledAt: pulled.map(Self.date(milliseconds:))))
        }
        return records
    }

    // MARK: Collection

    public func collectGarbage(
        _ plan: CollectionPlan, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> CollectionResult {
        let repositories = try await allRepositories()
        let grace = Self.milliseconds(plan.graceCutoff)
        let sweeps = repositories.map { (id: $0.id, name: $0.name, sweep: plan.manifests($0.name)) }
        let logger = self.logger

        if plan.dryRun {
            // Every step in one transaction that is rolled back: later steps see what earlier
            // ones would have deleted, so the figures are the ones a real run would give.
            return try await transaction(rollingBack: true) { db in
                var result = CollectionResult()
                result.deletedTags = try await Self.deleteTags(plan.tagDeletions, on: db, logger: logger)
                for (id, name, sweep) in sweeps {
                    let deleted = try await Self.sweepManifests(repositoryID: id, sweep, graceCutoff: grace, on: db, logger: logger)
                    if !deleted.isEmpty { result.deletedManifests[name] = deleted }
                }
                result.removedLinks = try await Self.sweepLinks(graceCutoff: grace, on: db, logger: logger)
                result.deletedRepositories = try await Self.deleteEmptyRepositories(on: db, logger: logger)
                result.deletedBlobs = try await Self.sweepBlobs(limit: nil, on: db, logger: logger)
                return result
            }
        }

        // What an interrupted run (of this process or another) left to remove goes first.
        try await disposeOfForgottenBlobs(disposing: disposing)
        var result = CollectionResult()
        result.deletedTags = try await transaction { db in
            let deleted = try await Self.deleteTags(plan.tagDeletions, on: db, logger: logger)
            try await Self.appendEvents(plan.events(ofDeletedTags: deleted), on: db, logger: logger)
            return deleted
        }
        for (id, name, sweep) in sweeps where sweep != .keepUntagged {
            let deleted = try await transaction { db in
                let deleted = try await Self.sweepManifests(repositoryID: id, sweep, graceCutoff: grace, on: db, logger: logger)
                if !deleted.isEmpty { try await Self.appendEvents(plan.events(.manifests(name, deleted)), on: db, logger: logger) }
                return deleted
            }
            if !deleted.isEmpty { result.deletedManifests[name] = deleted }
        }
        result.removedLinks = try await transaction { db in try await Self.sweepLinks(graceCutoff: grace, on: db, logger: logger) }
        result.deletedRepositories = try await transaction { db in
            let deleted = try await Self.deleteEmptyRepositories(on: db, logger: logger)
            if !deleted.isEmpty { try await Self.appendEvents(plan.events(.repositories(deleted)), on: db, logger: logger) }
            return deleted
        }
        while true {
            let batch = try await transaction { db in try await Self.sweepBlobs(limit: Self.blobsPerSweep, on: db, logger: logger) }
            result.deletedBlobs += batch
            try await disposeOfForgottenBlobs(disposing: disposing)
            if batch.count < Self.blobsPerSweep { break }
        }
        return result
    }

    @discardableResult
    public func disposeOfForgottenBlobs(disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws -> Int {
        let logger = self.logger
        var disposed = 0
        while true {
            let batch = try await transaction { db in
                var tombstones: [BlobTombstone] = []
                for try await (digest, quarantine) in try await db.query(
                    "SELECT digest, quarantine FROM blob_tombstones ORDER BY digest LIMIT \(Self.blobsPerSweep)", logger: logger
                ).decode((String, Bool).self) {
                    tombstones.append(BlobTombstone(digest: try Self.digest(digest), quarantine: quarantine))
                }
                guard !tombstones.isEmpty else { return 0 }
                // Inside the transaction: an upload of one of these digests waits for the write
                // lock, then places its own file and lifts the tombstone. A crash after the files
                // went but before the commit leaves the tombstones, and the next run's removal
                // finds nothing to remove.
                try await disposing(tombstones)
                try await db.query(
                    "DELETE FROM blob_tombstones WHERE digest = ANY(\(tombstones.map(\.digest.description)))", logger: logger)
                return tombstones.count
            }
            disposed += batch
            if batch < Self.blobsPerSweep { return disposed }
        }
    }

    public func removeUnrecordedBlobFiles(
        _ candidates: [Digest], removing: @escaping @Sendable ([Digest]) async throws -> Void
    ) async throws -> [Digest] {
        let logger = self.logger
        var removed: [Digest] = []
        // Chunks as on SQLite: each decision and removal is one short transaction.
        for start in stride(from: 0, to: candidates.count, by: Self.blobsPerSweep) {
            let chunk = Array(candidates[start..<min(start + Self.blobsPerSweep, candidates.count)])
            removed += try await transaction { db in
                let digests = chunk.map(\.description)
                var owned: Set<String> = []
                for try await digest in try await db.query(
                    """
                    SELECT digest FROM blobs WHERE digest = ANY(\(digests))
                    UNION SELECT digest FROM blob_tombstones WHERE digest = ANY(\(digests))
                    """,
                    logger: logger
                ).decode(String.self) {
                    owned.insert(digest)
                }
                let orphans = chunk.filter { !owned.contains($0.description) }
                if !orphans.isEmpty { try await removing(orphans) }
                return orphans
            }
        }
        return removed
    }

    /// Records a tombstone for each digest (whose blob record was just deleted in the same
    /// transaction).
    static func entomb(_ digests: [Digest], quarantine: Bool, on db: PostgresConnection, logger: Logger) async throws {
        guard !digests.isEmpty else { return }
        try await db.query(
            """
            INSERT INTO blob_tombstones (digest, quarantine, created_at)
            SELECT DISTINCT digest, \(quarantine), \(now)::bigint FROM unnest(\(digests.map(\.description))::text[]) AS d(digest)
            ON CONFLICT (digest) DO UPDATE SET quarantine = blob_tombstones.quarantine OR EXCLUDED.quarantine
            """,
            logger: logger)
    }

    public func repositoryNames() async throws -> [RepositoryName] {
        try await allRepositories().map(\.name)
    }

    private func allRepositories() async throws -> [(id: Int64, name: RepositoryName)] {
        var repositories: [(id: Int64, name: RepositoryName)] = []
        for try await (id, name) in try await query("SELECT id, name FROM repositories ORDER BY name").decode((Int64, String).self) {
            if let name = RepositoryName(name) { repositories.append((id, name)) }
        }
        return repositories
    }

    /// Deletes each planned tag that still points where retention saw it.
    private static func deleteTags(
        _ deletions: [RepositoryName: [TagRecord]], on db: PostgresConnection, logger: Logger
    ) async throws -> [RepositoryName: [Tag]] {
        var deleted: [RepositoryName: [Tag]] = [:]
        for (repository, records) in deletions {
            guard let repositoryID = try await repositoryID(repository, on: db, logger: logger) else { continue }
            for record in records {
                let rows = try await db.query(
                    """
                    DELETE FROM tags WHERE repository_id = \(repositoryID) AND name = \(record.tag.value)
                    AND manifest_digest = \(record.manifest.description) RETURNING name
                    """,
                    logger: logger
                ).collect()
                if !rows.isEmpty { deleted[repository, default: []].append(record.tag) }
            }
        }
        return deleted
    }

    /// Deletes the repository's manifests that nothing keeps (see ``ManifestSweep``), with their
    /// outgoing references: the mark of SQLite's recursive query. PostgreSQL allows one
    /// recursive reference, so the two ways a kept manifest keeps another (an index's child
    /// manifests; with `keepReferrers`, the manifests whose subject it is) are one edge list.
    private static func sweepManifests(
        repositoryID: Int64, _ sweep: ManifestSweep, graceCutoff: Int64, on db: PostgresConnection, logger: Logger
    ) async throws -> [Digest] {
        guard case .deleteUntagged(let olderThan, let keepReferrers) = sweep else { return [] }
        // Kept when younger than either the grace period or the rule's age.
        let cutoff = min(milliseconds(olderThan), graceCutoff)
        var deleted: [Digest] = []
        for try await digest in try await db.query(
            """
            WITH RECURSIVE edges(parent, child) AS (
                SELECT manifest_digest, child_digest FROM manifest_references
                    WHERE repository_id = \(repositoryID) AND child_is_manifest
                UNION ALL
                SELECT subject, digest FROM manifests
                    WHERE repository_id = \(repositoryID) AND subject IS NOT NULL AND \(keepReferrers)
            ), kept(digest) AS (
                SELECT manifest_digest FROM tags WHERE repository_id = \(repositoryID)
                UNION SELECT digest FROM manifests WHERE repository_id = \(repositoryID) AND created_at >= \(cutoff)
                UNION SELECT e.child FROM edges e JOIN kept k ON e.parent = k.digest
            )
            DELETE FROM manifests WHERE repository_id = \(repositoryID) AND digest NOT IN (SELECT digest FROM kept)
            RETURNING digest
            """,
            logger: logger
        ).decode(String.self) {
            deleted.append(try Self.digest(digest))
        }
        guard !deleted.isEmpty else { return [] }
        try await db.query(
            """
            DELETE FROM manifest_references WHERE repository_id = \(repositoryID)
            AND manifest_digest NOT IN (SELECT digest FROM manifests WHERE repository_id = \(repositoryID))
            """,
            logger: logger)
        return deleted.sorted()
    }

    /// Withdraws links that no manifest of their repository references and that are older than
    /// the grace period (layers of pushes that never got a manifest, layers of deleted images).
    private static func sweepLinks(graceCutoff: Int64, on db: PostgresConnection, logger: Logger) async throws -> Int {
        try await db.query(
            """
            DELETE FROM repository_blobs WHERE created_at < \(graceCutoff) AND NOT EXISTS (
                SELECT 1 FROM manifest_references mr
                WHERE mr.child_digest = repository_blobs.digest AND mr.repository_id = repository_blobs.repository_id)
            RETURNING digest
            """,
            logger: logger
        ).collect().count
    }

    /// Repositories left with nothing: no tag, manifest or blob link.
    private static func deleteEmptyRepositories(on db: PostgresConnection, logger: Logger) async throws -> [RepositoryName] {
        var deleted: [RepositoryName] = []
        for try await name in try await db.query(
            """
            DELETE FROM repositories WHERE
                NOT EXISTS (SELECT 1 FROM tags WHERE repository_id = repositories.id)
                AND NOT EXISTS (SELECT 1 FROM manifests WHERE repository_id = repositories.id)
                AND NOT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = repositories.id)
            RETURNING name
            """,
            logger: logger
        ).decode(String.self) {
            if let name = RepositoryName(name) { deleted.append(name) }
        }
        return deleted.sorted { $0.value < $1.value }
    }

    /// Deletes up to `limit` blobs (all with nil) that no repository links and no manifest
    /// references, leaving a tombstone for each (its file is removed after this transaction commits).
    private static func sweepBlobs(limit: Int?, on db: PostgresConnection, logger: Logger) async throws -> [BlobRecord] {
        var records: [BlobRecord] = []
        for try await (digest, size) in try await db.query(
            """
            DELETE FROM blobs WHERE digest IN (
                SELECT b.digest FROM blobs b
                WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
                AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.child_digest = b.digest)
                ORDER BY b.digest LIMIT \(limit.map(Int64.init))::bigint)
            RETURNING digest, size
            """,
            logger: logger
        ).decode((String, Int64).self) {
            records.append(BlobRecord(digest: try Self.digest(digest), size: size))
        }
        records.sort { $0.digest < $1.digest }
        try await entomb(records.map(\.digest), quarantine: false, on: db, logger: logger)
        return records
    }

    // MARK: Use, deletion, scrubbing, usage

    public func recordUse(tags: [RepositoryName: Set<Tag>], blobs: [RepositoryName: Set<Digest>], at date: Date) async throws {
        guard !tags.isEmpty || !blobs.isEmpty else { return }
        let when = Self.milliseconds(date)
        let logger = self.logger
        try await transaction { db in
            for (repository, names) in tags {
                try await db.query(
                    """
                    UPDATE tags SET pulled_at = \(when)
                    WHERE repository_id = (SELECT id FROM repositories WHERE name = \(repository.value))
                    AND name = ANY(\(names.map(\.value)))
                    """,
                    logger: logger)
            }
            for (repository, digests) in blobs {
                // A link in use counts as recent: a client that saw the blob (docker's HEAD
                // before skipping a layer) is about to reference it from a manifest.
                try await db.query(
                    """
                    UPDATE repository_blobs SET created_at = greatest(created_at, \(when))
                    WHERE repository_id = (SELECT id FROM repositories WHERE name = \(repository.value))
                    AND digest = ANY(\(digests.map(\.description)))
                    """,
                    logger: logger)
            }
        }
    }

    public func deleteRepository(_ repository: RepositoryName, events: [OutboxEvent], keeping frozen: FrozenTags) async throws -> Bool {
        let logger = self.logger
        return try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(repository, on: db, logger: logger) else { return false }
            try await Self.runTagDeletion(
                "DELETE FROM tags WHERE repository_id = \(repositoryID) RETURNING name", keeping: frozen, on: db, logger: logger)
            for table in ["manifest_references", "manifests", "repository_blobs"] {
                try await db.query("DELETE FROM \(unescaped: table) WHERE repository_id = \(repositoryID)", logger: logger)
            }
            try await db.query("DELETE FROM repositories WHERE id = \(repositoryID)", logger: logger)
            try await Self.appendEvents(events, on: db, logger: logger)
            return true
        }
    }

    public func blobRecords(after last: Digest?, limit: Int) async throws -> [BlobRecord] {
        var records: [BlobRecord] = []
        for try await (digest, size) in try await query(
            "SELECT digest, size FROM blobs WHERE digest > \(last?.description ?? "") ORDER BY digest LIMIT \(limit < 0 ? nil : Int64(limit))::bigint"
        ).decode((String, Int64).self) {
            records.append(BlobRecord(digest: try Self.digest(digest), size: size))
        }
        return records
    }

    public func forgetBlob(_ digest: Digest, disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void) async throws {
        let logger = self.logger
        try await transaction { db in
            let deleted = try await db.query(
                "DELETE FROM blobs WHERE digest = \(digest.description) RETURNING digest", logger: logger
            ).collect()
            if !deleted.isEmpty { try await Self.entomb([digest], quarantine: true, on: db, logger: logger) }
        }
        try await disposeOfForgottenBlobs(disposing: disposing)
    }

    public func recordBlobUse(_ digest: Digest, in repository: RepositoryName, at date: Date) async throws -> Bool {
        // Through the group commit: the HEADs of a push's layers arrive together.
        let rows = try await commits.commit(.init(query: """
            UPDATE repository_blobs SET created_at = greatest(created_at, \(Self.milliseconds(date)))
            WHERE repository_id = (SELECT id FROM repositories WHERE name = \(repository.value)) AND digest = \(digest.description)
            RETURNING digest
            """))
        return rows > 0
    }

    public func danglingBlobReferences() async throws -> [Digest] {
        var digests: [Digest] = []
        for try await digest in try await query(
            """
            SELECT digest FROM repository_blobs WHERE digest NOT IN (SELECT digest FROM blobs)
            UNION
            SELECT child_digest FROM manifest_references
            WHERE NOT child_is_manifest AND child_digest NOT IN (SELECT digest FROM blobs)
            ORDER BY 1
            """
        ).decode(String.self) {
            digests.append(try Self.digest(digest))
        }
        return digests
    }

    public func usage(of repository: RepositoryName?) async throws -> UsageFigures {
        let logger = self.logger
        // Two statements that must agree: one snapshot.
        return try await readSnapshot { db in
            let repositories = try await Self.repositoryFigures(on: db, named: repository, logger: logger).map(\.figures)
            var totals: (blobs: Int64, bytes: Int64) = (0, 0)
            for try await row in try await db.query(
                "SELECT count(*), coalesce(sum(size), 0)::bigint FROM blobs", logger: logger
            ).decode((Int64, Int64).self) {
                totals = row
            }
            return UsageFigures(
                repositories: repositories, logical: repositories.reduce(0) { $0 + $1.logical },
                physical: totals.bytes, blobs: Int(totals.blobs))
        }
    }
}
