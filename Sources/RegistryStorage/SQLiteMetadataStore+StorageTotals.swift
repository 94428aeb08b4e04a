import SQLiteNIO

/// The registry-wide figures of the metrics endpoint, on SQLite: one statement, so one snapshot.
/// Sharing is added up over the digests linked more than once, through
/// `repository_blobs_by_digest`: a scan of one index, no per-repository work.
extension SQLiteMetadataStore: StorageTotalsSource {
    public func storageTotals() async throws -> StorageTotals {
        let row = try await reader.query(
            """
            SELECT
                (SELECT count(*) FROM blobs) AS blobs,
                (SELECT coalesce(sum(size), 0) FROM blobs) AS bytes,
                (SELECT coalesce(sum(b.size * (shared.links - 1)), 0)
                    FROM (SELECT digest, count(*) AS links FROM repository_blobs GROUP BY digest HAVING count(*) > 1) AS shared
                    JOIN blobs b ON b.digest = shared.digest) AS saved,
                (SELECT count(*) FROM uploads) AS uploads
            """
        ).first
        func value(_ column: String) throws -> Int64 {
            guard let value = row?.column(column)?.integer else { throw MetadataError.corrupt("storage totals row is incomplete") }
            return Int64(value)
        }
        return StorageTotals(
            blobs: try value("blobs"), bytes: try value("bytes"), sharedBytesSaved: try value("saved"),
            uploadSessions: try value("uploads"))
    }
}
