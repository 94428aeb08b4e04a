import Foundation
import Logging
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Storage quotas")
struct QuotaTests {
    /// team/** may hold 10 KiB of blobs; everything else is unlimited.
    private static func quotas(_ configuration: inout RegistryConfiguration) {
        configuration.quotas = StorageQuotas(
            warnPercent: 80, rules: [StorageQuotaRule(name: "team", repositories: [RepositoryPattern("team/**")], limit: 10 * 1024)])
        configuration.gcGracePeriod = .zero
        configuration.gcInterval = nil
    }

    private func expectQuotaRefusal(_ reply: RegistryClient.Reply, used: Int64) throws {
        #expect(reply.status == .forbidden)
        #expect(reply.errorCode == "DENIED")
        let error = (try reply.json()["errors"] as? [[String: Any]])?.first
        let message = error?["message"] as? String ?? ""
        #expect(message.contains("quota \"team\""), "\(message)")
        #expect(message.contains("10 KiB"), "\(message)")
        let detail = error?["detail"] as? [String: String]
        #expect(detail?["used"] == "\(used)")
        #expect(detail?["limit"] == "\(10 * 1024)")
    }

    private func uploadsOnDisk(_ client: RegistryClient) throws -> [String] {
        let path = client.registry.root + "/uploads"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: path)
    }

    @Test func monolithicUploadOverQuotaIsRefusedBeforeAnythingIsStored() async throws {
        try await TestRegistry.with(configure: Self.quotas) { client in
            try await client.pushBlob(RegistryClient.randomBytes(8 * 1024), to: "team/app")
            let bytes = RegistryClient.randomBytes(4 * 1024)
            let digest = RegistryClient.digest(bytes)
            let refused = try await client.request(.POST, "/v2/team/app/blobs/uploads/?digest=\(digest)", body: bytes)
            try expectQuotaRefusal(refused, used: 8 * 1024)
            #expect(try uploadsOnDisk(client).isEmpty)
            #expect(!client.blobIsOnDisk(digest))
            #expect(try await client.request(.HEAD, "/v2/team/app/blobs/\(digest)").status == .notFound)

            // A session's single PUT with a declared length is refused before its body is read.
            let session = try await client.request(.POST, "/v2/team/app/blobs/uploads/")
            let location = try #require(session.header("Location"))
            let put = try await client.request(.PUT, "\(location)?digest=\(digest)", body: bytes)
            try expectQuotaRefusal(put, used: 8 * 1024)
            #expect(try await client.request(.GET, location).status == .notFound)
            #expect(try uploadsOnDisk(client).isEmpty)

            // Elsewhere, and within the limit, uploads go on.
            try await client.pushBlob(bytes, to: "other/app")
            let last = RegistryClient.randomBytes(2 * 1024)
            try await client.pushBlob(last, to: "team/app")
            // Exactly at the limit now; a blob the repository already holds adds nothing.
            try await client.pushBlob(last, to: "team/app")
        }
    }

    @Test func chunkedUploadOverQuotaIsRefusedAtCompletionAndItsBytesDiscarded() async throws {
        try await TestRegistry.with(configure: Self.quotas) { client in
            try await client.pushBlob(RegistryClient.randomBytes(8 * 1024), to: "team/app")
            let bytes = RegistryClient.randomBytes(4 * 1024)
            let digest = RegistryClient.digest(bytes)
            let session = try await client.request(.POST, "/v2/team/app/blobs/uploads/")
            let location = try #require(session.header("Location"))
            // Streamed (no Content-Length): the size is only known at the end.
            let patch = try await client.streamingRequest(.PATCH, location, chunks: [bytes])
            #expect(patch.status == .accepted)
            let finished = try await client.request(.PUT, "\(location)?digest=\(digest)")
            try expectQuotaRefusal(finished, used: 8 * 1024)
            #expect(try await client.request(.GET, location).status == .notFound)
            #expect(try uploadsOnDisk(client).isEmpty)
            #expect(!client.blobIsOnDisk(digest))

            // The same with the final chunk streamed in the PUT.
            let second = try await client.request(.POST, "/v2/team/app/blobs/uploads/")
            let secondLocation = try #require(second.header("Location"))
            let streamed = try await client.streamingRequest(.PUT, "\(secondLocation)?digest=\(digest)", chunks: [bytes])
            try expectQuotaRefusal(streamed, used: 8 * 1024)
            #expect(try uploadsOnDisk(client).isEmpty)
        }
    }

    /// Each upload passes the early check on the same usage; their completions, checked inside
    /// the write's transaction, store only what fits.
    @Test func concurrentUploadsCannotTogetherPassTheQuota() async throws {
        try await TestRegistry.with(configure: Self.quotas) { client in
            let blobs = (0..<8).map { _ in RegistryClient.randomBytes(3 * 1024) }
            let statuses = try await withThrowingTaskGroup(of: (Digest, UInt).self) { group in
                for bytes in blobs {
                    let digest = RegistryClient.digest(bytes)
                    group.addTask {
                        (digest, try await client.request(.POST, "/v2/team/app/blobs/uploads/?digest=\(digest)", body: bytes).status.code)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            // 3 × 3 KiB fit in 10 KiB; a fourth would not.
            #expect(statuses.values.filter { $0 == 201 }.count == 3)
            #expect(statuses.values.filter { $0 == 403 }.count == 5)
            for (digest, status) in statuses {
                let head = try await client.request(.HEAD, "/v2/team/app/blobs/\(digest)")
                #expect(head.status == (status == 201 ? .ok : .notFound))
            }
            #expect(try uploadsOnDisk(client).isEmpty)
        }
    }

    @Test func mountOverQuotaIsRefused() async throws {
        try await TestRegistry.with(configure: Self.quotas) { client in
            let big = RegistryClient.randomBytes(4 * 1024)
            let digest = try await client.pushBlob(big, to: "other/app")
            try await client.pushBlob(RegistryClient.randomBytes(8 * 1024), to: "team/app")
            let mount = try await client.request(.POST, "/v2/team/app/blobs/uploads/?mount=\(digest)&from=other/app")
            try expectQuotaRefusal(mount, used: 8 * 1024)
            #expect(try await client.request(.HEAD, "/v2/team/app/blobs/\(digest)").status == .notFound)
            // A mount within the limit still works.
            let small = try await client.pushBlob(RegistryClient.randomBytes(1024), to: "other/app")
            let fits = try await client.request(.POST, "/v2/team/app/blobs/uploads/?mount=\(small)&from=other/app")
            #expect(fits.status == .created)
        }
    }

    @Test func deletingAndCollectingGiveSpaceBack() async throws {
        try await TestRegistry.with(configure: Self.quotas) { client in
            let layer = RegistryClient.randomBytes(9 * 1024)
            let image = try await client.pushImage(to: "team/app", tag: "v1", layers: [layer])
            let next = RegistryClient.randomBytes(4 * 1024)
            let nextDigest = RegistryClient.digest(next)
            let refused = try await client.request(.POST, "/v2/team/app/blobs/uploads/?digest=\(nextDigest)", body: next)
            #expect(refused.status == .forbidden)

            // The image goes; the collection removes the links nothing uses any more.
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/\(image.digest)").status == .accepted)
            try await client.collectGarbage()
            try await client.pushBlob(next, to: "team/app")

            // A blob delete gives its bytes back at once.
            let filler = try await client.pushBlob(RegistryClient.randomBytes(6 * 1024), to: "team/app")
            let again = RegistryClient.randomBytes(3 * 1024)
            #expect(try await client.request(
                .POST, "/v2/team/app/blobs/uploads/?digest=\(RegistryClient.digest(again))", body: again).status == .forbidden)
            #expect(try await client.request(.DELETE, "/v2/team/app/blobs/\(filler)").status == .accepted)
            try await client.pushBlob(again, to: "team/app")
        }
    }

    @Test func duShowsQuotaUse() async throws {
        try await TestRegistry.with(configure: Self.quotas) { client in
            try await client.pushBlob(RegistryClient.randomBytes(8 * 1024), to: "team/app")
            try await client.pushBlob(RegistryClient.randomBytes(1024), to: "other/app")
            var configuration = RegistryConfiguration()
            configuration.root = client.registry.root
            Self.quotas(&configuration)
            let maintenance = try await RootMaintenance.open(configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let text = try await maintenance.usage(of: nil, json: false)
            let json = try await maintenance.usage(of: "team/app", json: true)
            try await maintenance.close()

            let lines = text.split(separator: "\n")
            #expect(lines.first?.hasSuffix("QUOTA") == true, "\(text)")
            let team = lines.first { $0.hasPrefix("team/app") } ?? ""
            #expect(team.hasSuffix("8 KiB / 10 KiB (80%)"), "\(text)")
            let other = lines.first { $0.hasPrefix("other/app") } ?? ""
            #expect(other.hasSuffix("-"), "\(text)")
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            let quota = ((object?["repositories"] as? [[String: Any]])?.first?["quota"]) as? [String: Any]
            #expect(quota?["name"] as? String == "team")
            #expect(quota?["limit_bytes"] as? Int == 10 * 1024)
            #expect(quota?["used_percent"] as? Int == 80)
        }
    }
}
