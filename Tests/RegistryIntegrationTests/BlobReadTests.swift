import RegistryTestSupport
import Foundation
import NIOHTTP1
import RegistryModel
import Testing

@Suite("Blob reads, mounts and deletes")
struct BlobReadTests {
    @Test func headAndGetCarryDigestLengthAndType() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(5000)
            let digest = try await client.pushBlob(bytes, to: "app")
            let head = try await client.request(.HEAD, "/v2/app/blobs/\(digest)")
            #expect(head.status == .ok)
            #expect(head.header("Content-Length") == "5000")
            #expect(head.header("Docker-Content-Digest") == digest.description)
            #expect(head.header("Docker-Distribution-API-Version") == "registry/2.0")
            let missing = try await client.request(.GET, "/v2/app/blobs/\(RegistryClient.digest([0]))")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "BLOB_UNKNOWN")
        }
    }

    @Test func rangeRequestsServePartsAnd416WhenUnsatisfiable() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(1000)
            let digest = try await client.pushBlob(bytes, to: "app")
            let middle = try await client.request(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=100-199")])
            #expect(middle.status == .partialContent)
            #expect(middle.bytes == Array(bytes[100...199]))
            #expect(middle.header("Content-Range") == "bytes 100-199/1000")
            let open = try await client.request(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=900-")])
            #expect(open.bytes == Array(bytes[900...]))
            let suffix = try await client.request(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=-10")])
            #expect(suffix.bytes == Array(bytes[990...]))
            let beyond = try await client.request(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=1000-1100")])
            #expect(beyond.status == .rangeNotSatisfiable)
            #expect(beyond.header("Content-Range") == "bytes */1000")
        }
    }

    @Test func blobIsReadableOnlyFromRepositoriesItWasPushedOrMountedTo() async throws {
        try await TestRegistry.with { client in
            let digest = try await client.pushBlob(RegistryClient.randomBytes(100), to: "source")
            #expect(try await client.request(.HEAD, "/v2/target/blobs/\(digest)").status == .notFound)

            let fromOther = try await client.request(.POST, "/v2/target/blobs/uploads/?mount=\(digest)&from=elsewhere")
            #expect(fromOther.status == .accepted)
            #expect(fromOther.header("Location")?.contains("/blobs/uploads/") == true)

            let mounted = try await client.request(.POST, "/v2/target/blobs/uploads/?from=source&mount=\(digest.description.replacingOccurrences(of: ":", with: "%3A"))")
            #expect(mounted.status == .created)
            #expect(mounted.header("Location") == "/v2/target/blobs/\(digest)")
            #expect(mounted.header("Docker-Content-Digest") == digest.description)
            #expect(try await client.request(.HEAD, "/v2/target/blobs/\(digest)").status == .ok)

            let anywhere = try await client.request(.POST, "/v2/third/blobs/uploads/?mount=\(digest)")
            #expect(anywhere.status == .created)
            let unknown = try await client.request(.POST, "/v2/third/blobs/uploads/?mount=\(RegistryClient.digest([5]))")
            #expect(unknown.status == .accepted)
        }
    }

    @Test func deletedBlobIsGoneFromThatRepositoryOnly() async throws {
        try await TestRegistry.with { client in
            let digest = try await client.pushBlob(RegistryClient.randomBytes(100), to: "a")
            try await client.pushBlob(RegistryClient.randomBytes(100), to: "b")
            #expect(try await client.request(.POST, "/v2/b/blobs/uploads/?mount=\(digest)&from=a").status == .created)
            #expect(try await client.request(.DELETE, "/v2/a/blobs/\(digest)").status == .accepted)
            #expect(try await client.request(.HEAD, "/v2/a/blobs/\(digest)").status == .notFound)
            #expect(try await client.request(.DELETE, "/v2/a/blobs/\(digest)").status == .notFound)
            #expect(try await client.request(.HEAD, "/v2/b/blobs/\(digest)").status == .ok)
        }
    }

    @Test func largeBlobStreamsThroughIntact() async throws {
        try await TestRegistry.with { client in
            let chunks = (0..<40).map { _ in RegistryClient.randomBytes(256 * 1024) }
            let bytes = chunks.flatMap { $0 }
            let digest = RegistryClient.digest(bytes)
            let location = try #require(try await client.request(.POST, "/v2/big/blobs/uploads/").header("Location"))
            let patch = try await client.streamingRequest(.PATCH, location, chunks: chunks)
            #expect(patch.status == .accepted)
            #expect(try await client.request(.PUT, "\(location)?digest=\(digest)").status == .created)
            let get = try await client.request(.GET, "/v2/big/blobs/\(digest)")
            #expect(get.body.readableBytes == bytes.count)
            #expect(RegistryClient.digest(get.bytes) == digest)
        }
    }
}
