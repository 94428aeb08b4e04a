import Foundation
import RegistryModel
import SQLiteNIO

/// Layer sharing and verification facts on SQLite. A blob's uses are found through
/// `manifest_references_by_child`, their tags through `tags_by_manifest`.
extension SQLiteMetadataStore: ImageCatalogStore {
    public func repositorySummaries(containing text: String?, after last: String?, limit: Int) async throws -> [RepositorySummary] {
        try await repositoryFigures(containing: text, after: last, limit: limit)
    }

    public func tagDetails(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [TagDetail] {
        try await reader.query(
            """
            SELECT t.name, t.manifest_digest, m.media_type, length(m.content) AS size, t.updated_at, t.pulled_at
            FROM repositories r JOIN tags t ON t.repository_id = r.id
            JOIN manifests m ON m.repository_id = r.id AND m.digest = t.manifest_digest
            WHERE r.name = ? AND t.name > ? ORDER BY t.name LIMIT ?
            """,
            [.text(repository.value), .text(last ?? ""), .integer(max(0, limit))]
        ).map { row in
            guard let tag = row.column("name")?.string.flatMap(Tag.init),
                  let digest = row.column("manifest_digest")?.string.flatMap({ try? Digest(parsing: $0) }),
                  let mediaType = row.column("media_type")?.string, let size = row.column("size")?.integer,
                  let updated = row.column("updated_at")?.integer
            else { throw MetadataError.corrupt("a tag row is incomplete") }
            return TagDetail(
                tag: tag, manifest: digest, mediaType: mediaType, size: size, updatedAt: Self.date(milliseconds: updated),
                pulledAt: row.column("pulled_at")?.integer.map(Self.date(milliseconds:)))
        }
    }

    public func untaggedManifests(in repository: RepositoryName, limit: Int) async throws -> [UntaggedManifest] {
        try await reader.query(
            """
            SELECT m.digest, m.media_type, length(m.content) AS size, m.created_at
            FROM repositories r JOIN manifests m ON m.repository_id = r.id
            WHERE r.name = ? AND m.subject IS NULL
                AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = r.id AND t.manifest_digest = m.digest)
                AND NOT EXISTS (SELECT 1 FROM manifest_references p WHERE p.repository_id = r.id AND p.child_digest = m.digest)
            ORDER BY m.created_at DESC, m.digest LIMIT ?
            """,
            [.text(repository.value), .integer(max(0, limit))]
        ).map { row in
            guard let digest = row.column("digest")?.string.flatMap({ try? Digest(parsing: $0) }),
                  let mediaType = row.column("media_type")?.string, let size = row.column("size")?.integer,
                  let created = row.column("created_at")?.integer
            else { throw MetadataError.corrupt("a manifest row is incomplete") }
            return UntaggedManifest(digest: digest, mediaType: mediaType, size: size, createdAt: Self.date(milliseconds: created))
        }
    }

    public func uses(of digest: Digest, limit: Int) async throws -> [BlobUse] {
        try await reader.query(
            """
            SELECT r.name AS repository, mr.manifest_digest AS manifest,
                (SELECT group_concat(name, ' ') FROM (
                    SELECT t.name FROM tags t
                    WHERE t.repository_id = mr.repository_id AND (t.manifest_digest = mr.manifest_digest
                        OR t.manifest_digest IN (SELECT p.manifest_digest FROM manifest_references p
                            WHERE p.repository_id = mr.repository_id AND p.child_digest = mr.manifest_digest))
                    ORDER BY t.name)) AS tags
            FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id
            WHERE mr.child_digest = ?
            ORDER BY r.name, mr.manifest_digest LIMIT ?
            """,
            [.text(digest.description), .integer(max(0, limit))]
        ).map { row in
            guard let repository = row.column("repository")?.string.flatMap(RepositoryName.init),
                  let manifest = row.column("manifest")?.string.flatMap({ try? Digest(parsing: $0) })
            else { throw MetadataError.corrupt("a manifest reference row is incomplete") }
            return BlobUse(repository: repository, manifest: manifest, tags: BlobUse.tags(fromSpaceSeparated: row.column("tags")?.string))
        }
    }

    public func layerFacts(_ digests: [Digest]) async throws -> [Digest: LayerFacts] {
        guard !digests.isEmpty else { return [:] }
        let placeholders = Array(repeating: "?", count: digests.count).joined(separator: ", ")
        let rows = try await reader.query(
            "SELECT digest, diff_id, uncompressed_size, verified_at FROM layer_facts WHERE digest IN (\(placeholders))",
            digests.map { .text($0.description) })
        var facts: [Digest: LayerFacts] = [:]
        for row in rows {
            guard let digest = row.column("digest")?.string.flatMap({ try? Digest(parsing: $0) }),
                  let diffID = row.column("diff_id")?.string.flatMap({ try? Digest(parsing: $0) }),
                  let size = row.column("uncompressed_size")?.integer, let verified = row.column("verified_at")?.integer
            else { throw MetadataError.corrupt("a layer_facts row is incomplete") }
            facts[digest] = LayerFacts(
                digest: digest, diffID: diffID, uncompressedSize: Int64(size), verifiedAt: Self.date(milliseconds: verified))
        }
        return facts
    }

    public func recordLayerFacts(_ facts: LayerFacts) async throws {
        try await transaction { db in
            _ = try await db.query(
                """
                INSERT INTO layer_facts (digest, diff_id, uncompressed_size, verified_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (digest) DO UPDATE SET diff_id = excluded.diff_id,
                    uncompressed_size = excluded.uncompressed_size, verified_at = excluded.verified_at
                """,
                [
                    .text(facts.digest.description), .text(facts.diffID.description), .integer(Int(facts.uncompressedSize)),
                    .integer(Int(Self.milliseconds(facts.verifiedAt))),
                ])
        }
    }
}
