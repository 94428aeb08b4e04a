import Foundation
import RegistryModel
import SQLiteNIO

/// Repositories with their figures, for `registry du` (all, or one) and the web UI (a page).
extension SQLiteMetadataStore {
    /// The repositories by name: the one `named`, or those after `last` whose name contains
    /// `text`, at most `limit` (all when nil). Each figure is a subquery on the repository's
    /// own rows (by primary key or index), so a page costs its rows, not the registry's.
    func repositoryFigures(
        named name: RepositoryName? = nil, containing text: String? = nil, after last: String? = nil, limit: Int? = nil
    ) async throws -> [RepositorySummary] {
        let rows = try await reader.query(
            """
            SELECT r.name,
                (SELECT count(*) FROM manifests m WHERE m.repository_id = r.id) AS manifests,
                (SELECT count(*) FROM tags t WHERE t.repository_id = r.id) AS tags,
                (SELECT coalesce(sum(b.size), 0) FROM manifest_references mr JOIN blobs b ON b.digest = mr.child_digest
                    WHERE mr.repository_id = r.id AND mr.child_is_manifest = 0) AS logical,
                (SELECT coalesce(sum(b.size), 0) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
                    WHERE rb.repository_id = r.id) AS physical,
                (SELECT max(at) FROM (SELECT max(m.created_at) AS at FROM manifests m WHERE m.repository_id = r.id
                    UNION ALL SELECT max(t.updated_at) FROM tags t WHERE t.repository_id = r.id)) AS last_push
            FROM repositories r
            WHERE (?1 IS NULL OR r.name = ?1) AND r.name > ?2 AND instr(r.name, ?3) > 0
            ORDER BY r.name LIMIT ?4
            """,
            // A negative LIMIT is none.
            [name.map { .text($0.value) } ?? .null, .text(last ?? ""), .text(text ?? ""), .integer(limit.map { max(0, $0) } ?? -1)])
        return try rows.map { row in
            guard let name = row.column("name")?.string.flatMap(RepositoryName.init),
                  let manifests = row.column("manifests")?.integer, let tags = row.column("tags")?.integer,
                  let logical = row.column("logical")?.integer, let physical = row.column("physical")?.integer
            else { throw MetadataError.corrupt("usage row is incomplete") }
            return RepositorySummary(
                figures: UsageFigures.Repository(name: name, manifests: manifests, tags: tags, logical: Int64(logical), physical: Int64(physical)),
                lastPush: row.column("last_push")?.integer.map(Self.date(milliseconds:)))
        }
    }
}
