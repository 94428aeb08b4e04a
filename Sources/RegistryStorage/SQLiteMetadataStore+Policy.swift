import RegistryModel
import SQLiteNIO

/// What the registry's storage quotas ask of the metadata on SQLite.
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
}
