import Foundation
import Logging
import PostgresNIO
import RegistryModel
import RegistryStorage

/// Repositories with their figures, for `registry du` (all, or one) and the web UI (a page).
extension PostgresMetadataStore {
    /// The repositories by name: the one `named`, or those after `last` whose name contains
    /// `text`, at most `limit` (all when nil). Each figure is a subquery on the repository's
    /// own rows (by primary key or index), so a page costs its rows, not the registry's.
    static func repositoryFigures(
        on db: PostgresConnection, named name: RepositoryName? = nil, containing text: String? = nil, after last: String? = nil,
        limit: Int? = nil, logger: Logger
    ) async throws -> [RepositorySummary] {
        var repositories: [RepositorySummary] = []
        // LIMIT NULL is none.
        for try await (name, manifests, tags, logical, physical, lastPush) in try await db.query(
            """
            SELECT r.name,
                (SELECT count(*) FROM manifests m WHERE m.repository_id = r.id),
                (SELECT count(*) FROM tags t WHERE t.repository_id = r.id),
                (SELECT coalesce(sum(b.size), 0)::bigint FROM manifest_references mr JOIN blobs b ON b.digest = mr.child_digest
                    WHERE mr.repository_id = r.id AND NOT mr.child_is_manifest),
                (SELECT coalesce(sum(b.size), 0)::bigint FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
                    WHERE rb.repository_id = r.id),
                greatest((SELECT max(m.created_at) FROM manifests m WHERE m.repository_id = r.id),
                    (SELECT max(t.updated_at) FROM tags t WHERE t.repository_id = r.id))
            FROM repositories r
            WHERE (\(name?.value)::text IS NULL OR r.name = \(name?.value)) AND r.name > \(last ?? "")
                AND strpos(r.name, \(text ?? "")) > 0
            ORDER BY r.name LIMIT \(limit.map { Int64(max(0, $0)) })
            """,
            logger: logger
        ).decode((String, Int64, Int64, Int64, Int64, Int64?).self) {
            guard let name = RepositoryName(name) else { throw MetadataError.corrupt("usage row is incomplete") }
            repositories.append(RepositorySummary(
                figures: UsageFigures.Repository(name: name, manifests: Int(manifests), tags: Int(tags), logical: logical, physical: physical),
                lastPush: lastPush.map(Self.date(milliseconds:))))
        }
        return repositories
    }
}
