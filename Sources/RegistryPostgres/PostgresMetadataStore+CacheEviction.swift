import Foundation
import Logging
import PostgresNIO
import RegistryModel
import RegistryStorage

extension PostgresMetadataStore: CacheEvictionStore {
    public func cachedBytes(under prefixes: [String]) async throws -> Int64 {
        for try await bytes in try await query(
            """
            SELECT coalesce(sum(b.size), 0)::bigint FROM blobs b WHERE b.digest IN (
                SELECT rb.digest FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
                WHERE EXISTS (SELECT 1 FROM unnest(\(prefixes)::text[]) AS p(prefix) WHERE starts_with(r.name, p.prefix)))
            """
        ).decode(Int64.self) {
            return bytes
        }
        return 0
    }

    public func cacheEntries(under prefixes: [String]) async throws -> [CacheEntry] {
        var entries: [CacheEntry] = []
        for try await (name, digest, used) in try await query(
            """
            SELECT r.name, m.digest, greatest(m.created_at, coalesce(
                (SELECT max(greatest(coalesce(t.pulled_at, 0), t.updated_at)) FROM tags t
                 WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest), 0)) AS used
            FROM manifests m JOIN repositories r ON r.id = m.repository_id
            WHERE EXISTS (SELECT 1 FROM unnest(\(prefixes)::text[]) AS p(prefix) WHERE starts_with(r.name, p.prefix))
            AND NOT EXISTS (
                SELECT 1 FROM manifest_references mr
                WHERE mr.repository_id = m.repository_id AND mr.child_digest = m.digest AND mr.child_is_manifest)
            ORDER BY used
            """
        ).decode((String, String, Int64).self) {
            guard let repository = RepositoryName(name) else { throw MetadataError.corrupt("cache entry row is incomplete") }
            entries.append(CacheEntry(repository: repository, digest: try Self.digest(digest), lastUsed: Self.date(milliseconds: used)))
        }
        return entries
    }

    public func evict(
        _ entry: CacheEntry, protecting protected: Set<Digest>,
        disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> [BlobRecord] {
        let logger = self.logger
        let evicted: [BlobRecord] = try await transaction { db in
            guard let repository = try await Self.repositoryID(entry.repository, on: db, logger: logger) else { return [] }
            try await db.query(
                "DELETE FROM tags WHERE repository_id = \(repository) AND manifest_digest = \(entry.digest.description)", logger: logger)
            var blobCandidates: Set<String> = []
            var manifests = [entry.digest.description]
            while let digest = manifests.popLast() {
                // A child that another manifest (or a tag) still uses stays.
                let used = try await db.query(
                    """
                    SELECT 1 FROM tags WHERE repository_id = \(repository) AND manifest_digest = \(digest)
                    UNION ALL SELECT 1 FROM manifest_references
                        WHERE repository_id = \(repository) AND child_digest = \(digest) AND child_is_manifest
                    LIMIT 1
                    """,
                    logger: logger
                ).collect()
                guard used.isEmpty else { continue }
                try await db.query("DELETE FROM manifests WHERE repository_id = \(repository) AND digest = \(digest)", logger: logger)
                for try await (child, isManifest) in try await db.query(
                    """
                    DELETE FROM manifest_references WHERE repository_id = \(repository) AND manifest_digest = \(digest)
                    RETURNING child_digest, child_is_manifest
                    """,
                    logger: logger
                ).decode((String, Bool).self) {
                    if isManifest { manifests.append(child) } else { blobCandidates.insert(child) }
                }
            }
            let candidates = blobCandidates.filter { candidate in
                (try? Digest(parsing: candidate)).map { !protected.contains($0) } ?? false
            }
            guard !candidates.isEmpty else { return [] }
            let digests = Array(candidates)
            try await db.query(
                """
                DELETE FROM repository_blobs WHERE repository_id = \(repository) AND digest = ANY(\(digests)) AND NOT EXISTS (
                    SELECT 1 FROM manifest_references mr WHERE mr.repository_id = repository_blobs.repository_id
                    AND mr.child_digest = repository_blobs.digest)
                """,
                logger: logger)
            var deleted: [BlobRecord] = []
            for try await (digest, size) in try await db.query(
                """
                DELETE FROM blobs WHERE digest = ANY(\(digests))
                AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = blobs.digest)
                AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.child_digest = blobs.digest)
                RETURNING digest, size
                """,
                logger: logger
            ).decode((String, Int64).self) {
                deleted.append(BlobRecord(digest: try Self.digest(digest), size: size))
            }
            try await Self.entomb(deleted.map(\.digest), quarantine: false, on: db, logger: logger)
            return deleted
        }
        if !evicted.isEmpty { try await disposeOfForgottenBlobs(disposing: disposing) }
        return evicted
    }
}
