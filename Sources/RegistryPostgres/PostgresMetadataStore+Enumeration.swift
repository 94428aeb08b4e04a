import PostgresNIO
import RegistryModel
import RegistryStorage

/// A repository's links and manifest graph on PostgreSQL, for copying a registry (`registry migrate`).
extension PostgresMetadataStore {
    public func linkedBlobs(in repository: RepositoryName) async throws -> [BlobRecord] {
        var records: [BlobRecord] = []
        for try await (digest, size) in try await query(
            """
            SELECT b.digest, b.size FROM repositories r
            JOIN repository_blobs rb ON rb.repository_id = r.id
            JOIN blobs b ON b.digest = rb.digest
            WHERE r.name = \(repository.value) ORDER BY b.digest
            """
        ).decode((String, Int64).self) {
            records.append(BlobRecord(digest: try Self.digest(digest), size: size))
        }
        return records
    }

    public func manifestRecords(in repository: RepositoryName) async throws -> [ManifestRecord] {
        var rows: [(digest: Digest, subject: Digest?, child: Digest?)] = []
        for try await (digest, subject, child) in try await query(
            """
            SELECT m.digest, m.subject, mr.child_digest FROM repositories r
            JOIN manifests m ON m.repository_id = r.id
            LEFT JOIN manifest_references mr ON mr.repository_id = m.repository_id
                AND mr.manifest_digest = m.digest AND mr.child_is_manifest
            WHERE r.name = \(repository.value) ORDER BY m.digest, mr.child_digest
            """
        ).decode((String, String?, String?).self) {
            rows.append((try Self.digest(digest), try subject.map(Self.digest), try child.map(Self.digest)))
        }
        return ManifestRecord.folding(rows)
    }
}
