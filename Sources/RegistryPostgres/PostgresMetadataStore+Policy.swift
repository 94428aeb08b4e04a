import PostgresNIO
import RegistryModel
import RegistryStorage

/// What the registry's storage quotas ask of the metadata on PostgreSQL.
extension PostgresMetadataStore {
    /// Served by `repository_blobs`' primary key (repository first) and `blobs`' primary key.
    public func linkedBlobBytes(in repository: RepositoryName) async throws -> Int64 {
        var bytes: Int64 = 0
        for try await sum in try await query(
            """
            SELECT coalesce(sum(b.size), 0)::bigint FROM repositories r
            JOIN repository_blobs rb ON rb.repository_id = r.id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.name = \(repository.value)
            """
        ).decode(Int64.self) {
            bytes = sum
        }
        return bytes
    }
}
