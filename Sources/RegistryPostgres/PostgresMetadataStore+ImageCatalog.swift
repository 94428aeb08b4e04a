import Foundation
import PostgresNIO
import RegistryModel
import RegistryStorage

/// Layer sharing and verification facts on PostgreSQL (the same queries as on SQLite). Facts
/// are written outside the write lock: they take no part in the registry's rules and are the
/// same whoever writes them.
extension PostgresMetadataStore: ImageCatalogStore {
    public func repositorySummaries(containing text: String?, after last: String?, limit: Int) async throws -> [RepositorySummary] {
        let logger = self.logger
        return try await readSnapshot { db in
            try await Self.repositoryFigures(on: db, containing: text, after: last, limit: limit, logger: logger)
        }
    }

    public func tagDetails(in repository: RepositoryName, after last: String?, limit: Int) async throws -> [TagDetail] {
        var details: [TagDetail] = []
        for try await (name, digest, mediaType, size, updated, pulled) in try await query(
            """
            SELECT t.name, t.manifest_digest, m.media_type, octet_length(m.content), t.updated_at, t.pulled_at
            FROM repositories r JOIN tags t ON t.repository_id = r.id
            JOIN manifests m ON m.repository_id = r.id AND m.digest = t.manifest_digest
            WHERE r.name = \(repository.value) AND t.name > \(last ?? "") ORDER BY t.name LIMIT \(Int64(max(0, limit)))
            """
        ).decode((String, String, String, Int32, Int64, Int64?).self) {
            guard let tag = Tag(name), let digest = try? Digest(parsing: digest) else { throw MetadataError.corrupt("a tag row is incomplete") }
            details.append(TagDetail(
                tag: tag, manifest: digest, mediaType: mediaType, size: Int(size), updatedAt: Self.date(milliseconds: updated),
                pulledAt: pulled.map(Self.date(milliseconds:))))
        }
        return details
    }

    public func untaggedManifests(in repository: RepositoryName, limit: Int) async throws -> [UntaggedManifest] {
        var manifests: [UntaggedManifest] = []
        for try await (digest, mediaType, size, created) in try await query(
            """
            SELECT m.digest, m.media_type, octet_length(m.content), m.created_at
            FROM repositories r JOIN manifests m ON m.repository_id = r.id
            WHERE r.name = \(repository.value) AND m.subject IS NULL
                AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = r.id AND t.manifest_digest = m.digest)
                AND NOT EXISTS (SELECT 1 FROM manifest_references p WHERE p.repository_id = r.id AND p.child_digest = m.digest)
            ORDER BY m.created_at DESC, m.digest LIMIT \(Int64(max(0, limit)))
            """
        ).decode((String, String, Int32, Int64).self) {
            guard let digest = try? Digest(parsing: digest) else { throw MetadataError.corrupt("a manifest row is incomplete") }
            manifests.append(UntaggedManifest(digest: digest, mediaType: mediaType, size: Int(size), createdAt: Self.date(milliseconds: created)))
        }
        return manifests
    }

    public func uses(of digest: Digest, limit: Int) async throws -> [BlobUse] {
        var uses: [BlobUse] = []
        for try await (repository, manifest, tags) in try await query(
            """
            SELECT r.name, mr.manifest_digest,
                (SELECT string_agg(t.name, ' ' ORDER BY t.name) FROM tags t
                    WHERE t.repository_id = mr.repository_id AND (t.manifest_digest = mr.manifest_digest
                        OR t.manifest_digest IN (SELECT p.manifest_digest FROM manifest_references p
                            WHERE p.repository_id = mr.repository_id AND p.child_digest = mr.manifest_digest)))
            FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id
            WHERE mr.child_digest = \(digest.description)
            ORDER BY r.name, mr.manifest_digest LIMIT \(Int64(max(0, limit)))
            """
        ).decode((String, String, String?).self) {
            guard let repository = RepositoryName(repository), let manifest = try? Digest(parsing: manifest) else {
                throw MetadataError.corrupt("a manifest reference row is incomplete")
            }
            uses.append(BlobUse(repository: repository, manifest: manifest, tags: (tags ?? "").split(separator: " ").compactMap { Tag(String($0)) }))
        }
        return uses
    }

    public func layerFacts(_ digests: [Digest]) async throws -> [Digest: LayerFacts] {
        guard !digests.isEmpty else { return [:] }
        var facts: [Digest: LayerFacts] = [:]
        for try await (digest, diffID, size, verified) in try await query(
            "SELECT digest, diff_id, uncompressed_size, verified_at FROM layer_facts WHERE digest = ANY(\(digests.map(\.description)))"
        ).decode((String, String, Int64, Int64).self) {
            guard let digest = try? Digest(parsing: digest), let diffID = try? Digest(parsing: diffID) else {
                throw MetadataError.corrupt("a layer_facts row is incomplete")
            }
            facts[digest] = LayerFacts(digest: digest, diffID: diffID, uncompressedSize: size, verifiedAt: Self.date(milliseconds: verified))
        }
        return facts
    }

    public func recordLayerFacts(_ facts: LayerFacts) async throws {
        _ = try await query(
            """
            INSERT INTO layer_facts (digest, diff_id, uncompressed_size, verified_at)
            VALUES (\(facts.digest.description), \(facts.diffID.description), \(facts.uncompressedSize), \(Self.milliseconds(facts.verifiedAt)))
            ON CONFLICT (digest) DO UPDATE SET diff_id = excluded.diff_id,
                uncompressed_size = excluded.uncompressed_size, verified_at = excluded.verified_at
            """
        ).collect()
    }
}
