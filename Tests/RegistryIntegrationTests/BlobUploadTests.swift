import RegistryTestSupport
import Foundation
import NIOHTTP1
import RegistryModel
import Testing

@Suite("Blob uploads")
struct BlobUploadTests {
    @Test func singlePostWithDigestStoresTheBlob() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(10_000)
            let digest = RegistryClient.digest(bytes)
            let reply = try await client.request(.POST, "/v2/app/blobs/uploads/?digest=\(digest)", body: bytes)
            #expect(reply.status == .created)
            #expect(reply.header("Location") == "/v2/app/blobs/\(digest)")
            #expect(reply.header("Docker-Content-Digest") == digest.description)
            let get = try await client.request(.GET, "/v2/app/blobs/\(digest)")
            #expect(get.status == .ok)
            #expect(get.bytes == bytes)
            #expect(get.header("Content-Length") == "10000")
        }
    }

    @Test func postThenPutWithTheWholeBodyStoresTheBlob() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(70_000)
            let digest = RegistryClient.digest(bytes)
            let start = try await client.request(.POST, "/v2/app/blobs/uploads/")
            #expect(start.status == .accepted)
            #expect(start.header("Range") == "0-0")
            #expect(start.header("Docker-Upload-UUID") != nil)
            let location = try #require(start.header("Location"))
            let put = try await client.request(.PUT, "\(location)?digest=\(digest)", headers: [("Content-Type", "application/octet-stream")], body: bytes)
            #expect(put.status == .created)
            #expect(try await client.request(.GET, "/v2/app/blobs/\(digest)").bytes == bytes)
        }
    }

    @Test func orderedChunksWithContentRangeThenEmptyPutStoreTheBlob() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(3 * 50_000 + 17)
            let digest = RegistryClient.digest(bytes)
            var location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + 50_000, bytes.count)
                let patch = try await client.request(
                    .PATCH, location,
                    headers: [("Content-Range", "\(offset)-\(end - 1)"), ("Content-Type", "application/octet-stream")],
                    body: Array(bytes[offset..<end]))
                #expect(patch.status == .accepted)
                #expect(patch.header("Range") == "0-\(end - 1)")
                location = try #require(patch.header("Location"))
                offset = end
            }
            let status = try await client.request(.GET, location)
            #expect(status.status == .noContent)
            #expect(status.header("Range") == "0-\(bytes.count - 1)")
            let put = try await client.request(.PUT, "\(location)?digest=\(digest)")
            #expect(put.status == .created)
            #expect(try await client.request(.GET, "/v2/app/blobs/\(digest)").bytes == bytes)
        }
    }

    @Test func oneStreamedPatchWithChunkedEncodingStoresTheBlob() async throws {
        try await TestRegistry.with { client in
            let chunks = (0..<20).map { _ in RegistryClient.randomBytes(33_333) }
            let bytes = chunks.flatMap { $0 }
            let digest = RegistryClient.digest(bytes)
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let patch = try await client.streamingRequest(.PATCH, location, chunks: chunks)
            #expect(patch.status == .accepted)
            #expect(patch.header("Range") == "0-\(bytes.count - 1)")
            let put = try await client.request(.PUT, "\(try #require(patch.header("Location")))?digest=\(digest)")
            #expect(put.status == .created)
            #expect(try await client.request(.GET, "/v2/app/blobs/\(digest)").bytes == bytes)
        }
    }

    @Test func outOfOrderChunkIsRefusedWith416AndTheCurrentRange() async throws {
        try await TestRegistry.with { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let first = try await client.request(.PATCH, location, headers: [("Content-Range", "0-9")], body: Array(repeating: 1, count: 10))
            #expect(first.status == .accepted)
            let gap = try await client.request(.PATCH, location, headers: [("Content-Range", "20-29")], body: Array(repeating: 2, count: 10))
            #expect(gap.status == .rangeNotSatisfiable)
            #expect(gap.header("Range") == "0-9")
            #expect(gap.errorCode == "RANGE_INVALID")
            let retry = try await client.request(.PATCH, location, headers: [("Content-Range", "0-9")], body: Array(repeating: 1, count: 10))
            #expect(retry.status == .rangeNotSatisfiable)
            let malformed = try await client.request(.PATCH, location, headers: [("Content-Range", "ten-twenty")], body: [1])
            #expect(malformed.status == .rangeNotSatisfiable)
            // The session still works after the refused chunks.
            let next = try await client.request(.PATCH, location, headers: [("Content-Range", "10-19")], body: Array(repeating: 2, count: 10))
            #expect(next.status == .accepted)
            #expect(next.header("Range") == "0-19")
        }
    }

    @Test func wrongDigestStoresNothing() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(4096)
            let wrong = RegistryClient.digest([1, 2, 3])
            let reply = try await client.request(.POST, "/v2/app/blobs/uploads/?digest=\(wrong)", body: bytes)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "DIGEST_INVALID")
            #expect(try await client.request(.HEAD, "/v2/app/blobs/\(wrong)").status == .notFound)
            #expect(try await client.request(.HEAD, "/v2/app/blobs/\(RegistryClient.digest(bytes))").status == .notFound)
            let blobs = try FileManager.default.subpathsOfDirectory(atPath: client.registry.root + "/blobs")
            #expect(blobs.allSatisfy { !$0.hasSuffix(RegistryClient.digest(bytes).encoded) && !$0.hasSuffix(wrong.encoded) })
            let uploads = try FileManager.default.contentsOfDirectory(atPath: client.registry.root + "/uploads")
            #expect(uploads.isEmpty)
        }
    }

    @Test func cancelledUploadIsGone() async throws {
        try await TestRegistry.with { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            _ = try await client.request(.PATCH, location, body: [1, 2, 3])
            #expect(try await client.request(.DELETE, location).status == .noContent)
            let status = try await client.request(.GET, location)
            #expect(status.status == .notFound)
            #expect(status.errorCode == "BLOB_UPLOAD_UNKNOWN")
            #expect(try FileManager.default.contentsOfDirectory(atPath: client.registry.root + "/uploads").isEmpty)
        }
    }

    @Test func unknownAndForeignUploadSessionsAre404() async throws {
        try await TestRegistry.with { client in
            let unknown = try await client.request(.GET, "/v2/app/blobs/uploads/0123456789abcdef0123456789abcdef")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "BLOB_UPLOAD_UNKNOWN")
            let garbage = try await client.request(.PATCH, "/v2/app/blobs/uploads/..%2F..%2Fetc", body: [1])
            #expect(garbage.status == .notFound)
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let other = location.replacingOccurrences(of: "/v2/app/", with: "/v2/other/")
            #expect(try await client.request(.GET, other).status == .notFound)
        }
    }

    @Test func sha512AndEmptyBlobsAreSupported() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(1000)
            let sha512 = DigestHasher.digest(of: bytes, algorithm: .sha512)
            let reply = try await client.request(.POST, "/v2/app/blobs/uploads/?digest=\(sha512)", body: bytes)
            #expect(reply.status == .created)
            #expect(try await client.request(.GET, "/v2/app/blobs/\(sha512)").bytes == bytes)
            // A session hashed with sha256 completed with a sha512 digest still verifies.
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let other = RegistryClient.randomBytes(500)
            let otherDigest = DigestHasher.digest(of: other, algorithm: .sha512)
            _ = try await client.request(.PATCH, location, body: other)
            #expect(try await client.request(.PUT, "\(location)?digest=\(otherDigest)").status == .created)

            let empty = RegistryClient.digest([])
            #expect(try await client.request(.POST, "/v2/app/blobs/uploads/?digest=\(empty)").status == .created)
            let head = try await client.request(.HEAD, "/v2/app/blobs/\(empty)")
            #expect(head.status == .ok)
            #expect(head.header("Content-Length") == "0")
            #expect(try await client.request(.GET, "/v2/app/blobs/\(empty)").body.readableBytes == 0)
        }
    }

    @Test func malformedAndUnsupportedDigestsAreClear400s() async throws {
        try await TestRegistry.with { client in
            let malformed = try await client.request(.GET, "/v2/app/blobs/sha256:xyz")
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorCode == "DIGEST_INVALID")
            let unsupported = try await client.request(.HEAD, "/v2/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e")
            #expect(unsupported.status == .badRequest)
            let put = try await client.request(.POST, "/v2/app/blobs/uploads/?digest=md5:d41d8cd98f00b204e9800998ecf8427e", body: [])
            #expect(put.status == .badRequest)
            #expect(put.text.contains("unsupported digest algorithm"))
        }
    }

    @Test func concurrentPushesOfTheSameBlobBothSucceedAndStoreOneCopy() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(300_000)
            let digest = RegistryClient.digest(bytes)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await client.request(.POST, "/v2/repo\(index % 2)/blobs/uploads/?digest=\(digest)", body: bytes).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .created })
            let files = try FileManager.default.subpathsOfDirectory(atPath: client.registry.root + "/blobs")
                .filter { $0.hasSuffix(digest.encoded) }
            #expect(files == ["sha256/\(digest.encoded.prefix(2))/\(digest.encoded)"])
            #expect(try await client.request(.GET, "/v2/repo0/blobs/\(digest)").bytes == bytes)
            #expect(try await client.request(.GET, "/v2/repo1/blobs/\(digest)").bytes == bytes)
        }
    }

    @Test func uploadResumesAfterServerRestart() async throws {
        let first = try await TestRegistry.start()
        // Over 1 MiB before the restart, so that rebuilding the hash reads the file in several chunks.
        let split = 3 * 1024 * 1024 + 17
        let bytes = RegistryClient.randomBytes(split + 120_000)
        let digest = RegistryClient.digest(bytes)
        var client = RegistryClient(registry: first)
        let start = try await client.request(.POST, "/v2/app/blobs/uploads/")
        let location = try #require(start.header("Location"))
        let patch = try await client.request(.PATCH, location, headers: [("Content-Range", "0-\(split - 1)")], body: Array(bytes[0..<split]))
        #expect(patch.status == .accepted)
        await first.stop()

        let second = try await TestRegistry.start(root: first.root)
        client = RegistryClient(registry: second)
        let status = try await client.request(.GET, location)
        #expect(status.status == .noContent)
        #expect(status.header("Range") == "0-\(split - 1)")
        let rest = try await client.request(
            .PUT, "\(location)?digest=\(digest)", headers: [("Content-Range", "\(split)-\(bytes.count - 1)")], body: Array(bytes[split...]))
        #expect(rest.status == .created)
        #expect(try await client.request(.GET, "/v2/app/blobs/\(digest)").bytes == bytes)
        await second.stop()
    }

    @Test func sessionWithNoDataSurvivesARestartAndCompletesAsTheEmptyBlob() async throws {
        // An empty session has no data file yet (the first write creates it).
        let first = try await TestRegistry.start()
        var client = RegistryClient(registry: first)
        let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: first.root + "/uploads").isEmpty)
        await first.stop()

        let second = try await TestRegistry.start(root: first.root)
        client = RegistryClient(registry: second)
        let status = try await client.request(.GET, location)
        #expect(status.status == .noContent)
        #expect(status.header("Range") == "0-0")
        let empty = RegistryClient.digest([])
        #expect(try await client.request(.PUT, "\(location)?digest=\(empty)").status == .created)
        let pulled = try await client.request(.GET, "/v2/app/blobs/\(empty)")
        #expect(pulled.status == .ok)
        #expect(pulled.bytes.isEmpty)
        await second.stop()
    }

    @Test func clientDisconnectingMidPatchLeavesTheSessionAtItsLastCommittedLength() async throws {
        try await TestRegistry.with { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let first = RegistryClient.randomBytes(1000)
            #expect(try await client.request(.PATCH, location, body: first).status == .accepted)

            let connection = try RawConnection(port: client.registry.port)
            try connection.send(Array("PATCH \(location) HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".utf8) + RegistryClient.randomBytes(5000))
            connection.close()
            try await Task.sleep(for: .milliseconds(300))

            let status = try await client.request(.GET, location)
            #expect(status.status == .noContent)
            #expect(status.header("Range") == "0-999")
            let second = RegistryClient.randomBytes(10)
            let digest = RegistryClient.digest(first + second)
            let put = try await client.request(.PUT, "\(location)?digest=\(digest)", headers: [("Content-Range", "1000-1009")], body: second)
            #expect(put.status == .created)
            #expect(try await client.request(.GET, "/v2/app/blobs/\(digest)").bytes == first + second)
        }
    }

    @Test func abandonedSessionsExpire() async throws {
        try await TestRegistry.with(configure: { $0.uploadExpiry = .seconds(1) }) { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            _ = try await client.request(.PATCH, location, body: [1, 2, 3])
            // The janitor runs every second with a one-second expiry.
            var status = HTTPResponseStatus.noContent
            for _ in 0..<50 where status != .notFound {
                try await Task.sleep(for: .milliseconds(200))
                status = try await client.request(.GET, location).status
            }
            #expect(status == .notFound)
            let left = try FileManager.default.contentsOfDirectory(atPath: client.registry.root + "/uploads")
            #expect(left == [], "files left in uploads/: \(left)")
        }
    }
}
