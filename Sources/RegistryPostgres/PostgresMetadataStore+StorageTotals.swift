import PostgresNIO
import RegistryStorage

/// The registry-wide figures of the metrics endpoint, on PostgreSQL: one statement, so one
/// snapshot. Sharing is added up over the digests linked more than once, through
/// `repository_blobs_by_digest`: a scan of one index, no per-repository work.
extension PostgresMetadataStore: StorageTotalsSource {
    public func storageTotals() async throws -> StorageTotals {
        for try await (blobs, bytes, saved, uploads) in try await query(
            """
            SELECT
                (SELECT count(*) FROM blobs),
                (SELECT coalesce(sum(size), 0)::bigint FROM blobs),
                (SELECT coalesce(sum(b.size * (shared.links - 1)), 0)::bigint
                    FROM (SELECT digest, count(*) AS links FROM repository_blobs GROUP BY digest HAVING count(*) > 1) AS shared
                    JOIN blobs b ON b.digest = shared.digest),
                (SELECT count(*) FROM uploads)
            """
        ).decode((Int64, Int64, Int64, Int64).self) {
            return StorageTotals(blobs: blobs, bytes: bytes, sharedBytesSaved: saved, uploadSessions: uploads)
        }
        throw MetadataError.corrupt("storage totals returned no row")
    }
}
