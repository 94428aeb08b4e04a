import RegistryModel
import SQLiteNIO

/// What the registry's policies (storage quotas, immutable tags) ask of the metadata on SQLite.
extension SQLiteMetadataStore {
    /// Served by `repository_blobs`' primary key (repository first) and `blobs`' primary key.
    public func linkedBlobBytes(in repository: RepositoryName) async throws -> Int64 {
        try await reader.query(
            """
            SELECT coalesce(sum(b.size), 0) AS bytes FROM repositories r
            JOIN repository_blobs rb ON rb.repository_id = r.id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.name = ?
            """,
            [.text(repository.value)]
        ).first?.column("bytes")?.int64 ?? 0
    }

    /// Served by the `tags_by_manifest` index.
    public func tags(pointingAt digest: Digest, in repository: RepositoryName) async throws -> [Tag] {
        try await reader.query(
            """
            SELECT t.name FROM repositories r JOIN tags t ON t.repository_id = r.id
            WHERE r.name = ? AND t.manifest_digest = ? ORDER BY t.name
            """,
            [.text(repository.value), .text(digest.description)]
        ).compactMap { $0.column("name")?.string.flatMap(Tag.init) }
    }
}
