import RegistryModel
import SQLiteNIO

/// A repository's links and manifest graph on SQLite, for copying a registry (`registry migrate`).
extension SQLiteMetadataStore {
    public func linkedBlobs(in repository: RepositoryName) async throws -> [BlobRecord] {
        try await reader.query(
            """
            SELECT b.digest, b.size FROM repositories r
            JOIN repository_blobs rb ON rb.repository_id = r.id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.name = ? ORDER BY b.digest
            """,
            [.text(repository.value)]
        ).map { row in
            guard let size = row.column("size")?.int64 else { throw MetadataError.corrupt("blob row without size") }
            return BlobRecord(digest: try Digest(parsing: row.column("digest")?.string ?? ""), size: size)
        }
    }

    public func manifestRecords(in repository: RepositoryName) async throws -> [ManifestRecord] {
        let rows = try await reader.query(
            """
            SELECT m.digest, m.subject, mr.child_digest FROM repositories r
            JOIN manifests m ON m.repository_id = r.id
            LEFT JOIN manifest_references mr ON mr.repository_id = m.repository_id
                AND mr.manifest_digest = m.digest AND mr.child_is_manifest = 1
            WHERE r.name = ? ORDER BY m.digest, mr.child_digest
            """,
            [.text(repository.value)])
        return ManifestRecord.folding(try rows.map { row in
            (
                digest: try Digest(parsing: row.column("digest")?.string ?? ""),
                subject: try row.column("subject")?.string.map(Digest.init(parsing:)),
                child: try row.column("child_digest")?.string.map(Digest.init(parsing:))
            )
        })
    }
}
