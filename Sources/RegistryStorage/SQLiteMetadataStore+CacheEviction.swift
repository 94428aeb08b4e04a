import Foundation
import RegistryModel
import SQLiteNIO

extension SQLiteMetadataStore: CacheEvictionStore {
    /// `(substr(r.name, 1, n) = ? OR ...)` for the prefixes, with its binds.
    private static func prefixFilter(_ prefixes: [String]) -> (sql: String, binds: [SQLiteData]) {
        guard !prefixes.isEmpty else { return ("0", []) }
        let sql = prefixes.map { "substr(r.name, 1, \($0.utf8.count)) = ?" }.joined(separator: " OR ")
        return ("(\(sql))", prefixes.map { .text($0) })
    }

    public func cachedBytes(under prefixes: [String]) async throws -> Int64 {
        let filter = Self.prefixFilter(prefixes)
        let row = try await reader.query(
            """
            SELECT coalesce(sum(b.size), 0) AS bytes FROM blobs b WHERE b.digest IN (
                SELECT rb.digest FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id WHERE \(filter.sql))
            """,
            filter.binds
        ).first
        return Int64(row?.column("bytes")?.integer ?? 0)
    }

    public func cacheEntries(under prefixes: [String]) async throws -> [CacheEntry] {
        let filter = Self.prefixFilter(prefixes)
        let rows = try await reader.query(
            """
            SELECT r.name, m.digest, max(m.created_at, coalesce(
                (SELECT max(max(coalesce(t.pulled_at, 0), t.updated_at)) FROM tags t
                 WHERE t.repository_id = m.repository_id AND t.manifest_digest = m.digest), 0)) AS used
            FROM manifests m JOIN repositories r ON r.id = m.repository_id
            WHERE \(filter.sql) AND NOT EXISTS (
                SELECT 1 FROM manifest_references mr
                WHERE mr.repository_id = m.repository_id AND mr.child_digest = m.digest AND mr.child_is_manifest = 1)
            ORDER BY used
            """,
            filter.binds)
        return try rows.map { row in
            guard let name = row.column("name")?.string.flatMap(RepositoryName.init), let used = row.column("used")?.integer else {
                throw MetadataError.corrupt("cache entry row is incomplete")
            }
            return CacheEntry(
                repository: name, digest: try Digest(parsing: row.column("digest")?.string ?? ""),
                lastUsed: Self.date(milliseconds: used))
        }
    }

    public func evict(
        _ entry: CacheEntry, protecting protected: Set<Digest>,
        disposing: @escaping @Sendable ([BlobTombstone]) async throws -> Void
    ) async throws -> [BlobRecord] {
        let evicted: [BlobRecord] = try await transaction { db in
            guard let repositoryID = try await Self.repositoryID(entry.repository, on: db) else { return [] }
            let repository = SQLiteData.int64(repositoryID)
            _ = try await db.query(
                "DELETE FROM tags WHERE repository_id = ? AND manifest_digest = ?", [repository, .text(entry.digest.description)])
            var blobCandidates: Set<String> = []
            var manifests = [entry.digest.description]
            while let digest = manifests.popLast() {
                // A child that another manifest (or a tag) still uses stays.
                let used = try await db.query(
                    """
                    SELECT 1 FROM tags WHERE repository_id = ?1 AND manifest_digest = ?2
                    UNION ALL SELECT 1 FROM manifest_references WHERE repository_id = ?1 AND child_digest = ?2 AND child_is_manifest = 1
                    LIMIT 1
                    """,
                    [repository, .text(digest)])
                guard used.isEmpty else { continue }
                _ = try await db.query("DELETE FROM manifests WHERE repository_id = ? AND digest = ?", [repository, .text(digest)])
                let children = try await db.query(
                    "DELETE FROM manifest_references WHERE repository_id = ? AND manifest_digest = ? RETURNING child_digest, child_is_manifest",
                    [repository, .text(digest)])
                for child in children {
                    guard let childDigest = child.column("child_digest")?.string else { continue }
                    if child.column("child_is_manifest")?.integer == 1 {
                        manifests.append(childDigest)
                    } else {
                        blobCandidates.insert(childDigest)
                    }
                }
            }
            let candidates = blobCandidates.filter { candidate in
                (try? Digest(parsing: candidate)).map { !protected.contains($0) } ?? false
            }
            for batch in Array(candidates).chunked(Self.rowsPerStatement) {
                let placeholders = Array(repeating: "?", count: batch.count).joined(separator: ", ")
                _ = try await db.query(
                    """
                    DELETE FROM repository_blobs WHERE repository_id = ? AND digest IN (\(placeholders)) AND NOT EXISTS (
                        SELECT 1 FROM manifest_references mr WHERE mr.repository_id = repository_blobs.repository_id
                        AND mr.child_digest = repository_blobs.digest)
                    """,
                    [repository] + batch.map { .text($0) })
            }
            var deleted: [BlobRecord] = []
            for batch in Array(candidates).chunked(Self.rowsPerStatement) {
                let placeholders = Array(repeating: "?", count: batch.count).joined(separator: ", ")
                let rows = try await db.query(
                    """
                    DELETE FROM blobs WHERE digest IN (\(placeholders))
                    AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = blobs.digest)
                    AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.child_digest = blobs.digest)
                    RETURNING digest, size
                    """,
                    batch.map { .text($0) })
                for row in rows {
                    guard let size = row.column("size")?.integer else { throw MetadataError.corrupt("blob row without size") }
                    deleted.append(BlobRecord(digest: try Digest(parsing: row.column("digest")?.string ?? ""), size: Int64(size)))
                }
            }
            try await Self.entomb(deleted.map(\.digest), quarantine: false, on: db)
            return deleted
        }
        if !evicted.isEmpty { try await disposeOfForgottenBlobs(disposing: disposing) }
        return evicted
    }
}
