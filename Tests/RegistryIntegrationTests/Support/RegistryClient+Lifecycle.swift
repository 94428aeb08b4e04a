import Foundation
import RegistryModel
import RegistryTestSupport

extension RegistryClient {
    /// Runs a garbage collection through the admin endpoint and returns its `deleted` figures.
    @discardableResult
    func collectGarbage(deleteUntagged: Bool = false, dryRun: Bool = false) async throws -> [String: Any] {
        let reply = try await request(.POST, "/v2/_admin/gc?delete_untagged=\(deleteUntagged)&dry_run=\(dryRun)")
        guard reply.status == .ok else { throw TestFailure("gc failed: \(reply.status) \(reply.text)") }
        guard let deleted = try reply.json()["deleted"] as? [String: Any] else { throw TestFailure("gc report without figures: \(reply.text)") }
        return deleted
    }

    /// Path of a blob's file under the registry's root.
    func blobFile(_ digest: Digest) -> String {
        "\(registry.root)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))/\(digest.encoded)"
    }

    func blobIsOnDisk(_ digest: Digest) -> Bool {
        FileManager.default.fileExists(atPath: blobFile(digest))
    }

    /// Digests of every blob file under the root.
    func blobsOnDisk() throws -> Set<Digest> {
        let base = registry.root + "/blobs"
        let paths = try FileManager.default.subpathsOfDirectory(atPath: base)
        return Set(paths.compactMap { path -> Digest? in
            let parts = path.split(separator: "/")
            guard parts.count == 3 else { return nil }
            return try? Digest(parsing: "\(parts[0]):\(parts[2])")
        })
    }

    /// Total bytes of the blob files under the root.
    func bytesOnDisk() throws -> Int64 {
        try blobsOnDisk().reduce(0) { total, digest in
            let size = try FileManager.default.attributesOfItem(atPath: blobFile(digest))[.size] as? NSNumber
            return total + (size?.int64Value ?? 0)
        }
    }

    /// Pulls an image in full by tag: the manifest, then every blob it references, each checked
    /// against its digest.
    func pullImage(_ repository: String, tag: String) async throws {
        let reply = try await request(.GET, "/v2/\(repository)/manifests/\(tag)", headers: [("Accept", MediaType.ociManifest)])
        guard reply.status == .ok else { throw TestFailure("manifest \(repository):\(tag): \(reply.status) \(reply.text)") }
        let manifest = try reply.json()
        var descriptors = (manifest["layers"] as? [[String: Any]]) ?? []
        if let config = manifest["config"] as? [String: Any] { descriptors.append(config) }
        for descriptor in descriptors {
            guard let digestText = descriptor["digest"] as? String else { continue }
            let digest = try Digest(parsing: digestText)
            let blob = try await request(.GET, "/v2/\(repository)/blobs/\(digest)")
            guard blob.status == .ok, Self.digest(blob.bytes) == digest else {
                throw TestFailure("blob \(digest) of \(repository):\(tag): \(blob.status)")
            }
        }
    }
}
