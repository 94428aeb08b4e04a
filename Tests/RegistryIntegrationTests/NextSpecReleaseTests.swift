import Foundation
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryTestSupport
import Testing

/// What the distribution-spec's main branch (the next release) adds or sharpens: invalid
/// references, multi-tag pushes, upload digest algorithms, tag order.
@Suite("Next spec release")
struct NextSpecReleaseTests {
    static let manifestType = [("Content-Type", MediaType.ociManifest)]

    /// A pushed config blob and an image manifest for it, hashed with `algorithm`.
    func emptyImage(_ client: RegistryClient, in repository: String, algorithm: DigestAlgorithm = .sha256) async throws -> (manifest: [UInt8], digest: Digest) {
        let config = try await client.pushBlob(Array("{}".utf8), to: repository)
        let manifest = try RegistryClient.emptyImageManifest(config: config, size: 2)
        return (manifest, DigestHasher.digest(of: manifest, algorithm: algorithm))
    }

    // MARK: Invalid references

    @Test(arguments: [".INVALID_MANIFEST_NAME", "bad!tag", "sha256:xyz", "sha384:" + String(repeating: "a", count: 96), String(repeating: "t", count: 129)])
    func aReferenceThatIsNeitherTagNorDigestNamesNoManifest(reference: String) async throws {
        try await TestRegistry.with { client in
            try await client.pushImage(to: "app", tag: "v1")
            for method in [HTTPMethod.GET, .DELETE] {
                let reply = try await client.request(method, "/v2/app/manifests/\(reference)")
                #expect(reply.status == .notFound, "\(method) \(reference)")
                #expect(reply.errorCode == "MANIFEST_UNKNOWN", "\(method) \(reference)")
            }
            let head = try await client.request(.HEAD, "/v2/app/manifests/\(reference)")
            #expect(head.status == .notFound)
            // A push to it is the client's mistake, and says which.
            let put = try await client.request(.PUT, "/v2/app/manifests/\(reference)", headers: Self.manifestType, body: Array("{}".utf8))
            #expect(put.status == .badRequest)
            #expect(put.errorCode == "TAG_INVALID" || put.errorCode == "DIGEST_INVALID")
        }
    }

    @Test func referrersOfAMalformedDigestAre400AsTheSpecRequires() async throws {
        try await TestRegistry.with { client in
            let reply = try await client.request(.GET, "/v2/app/referrers/sha256:xyz")
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "DIGEST_INVALID")
        }
    }

    @Test(arguments: ["..", "UPPER/case", "a//b"])
    func aMountFromAnInvalidRepositoryStartsAnUploadInstead(from: String) async throws {
        try await TestRegistry.with { client in
            let digest = try await client.pushBlob(Array("shared".utf8), to: "source")
            let reply = try await client.request(.POST, "/v2/app/blobs/uploads/?mount=\(digest)&from=\(from)")
            #expect(reply.status == .accepted)
            #expect(reply.header("Location")?.hasPrefix("/v2/app/blobs/uploads/") == true)
            #expect(try await client.request(.HEAD, "/v2/app/blobs/\(digest)").status == .notFound)
        }
    }

    // MARK: Multi-tag push

    @Test(arguments: DigestAlgorithm.allCases)
    func aPushByDigestWithTagParametersPointsEveryTagAtTheManifest(algorithm: DigestAlgorithm) async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await emptyImage(client, in: "app", algorithm: algorithm)
            let tags = (0..<12).map { "v1.\($0)" } + ["latest"]
            let query = tags.map { "tag=\($0)" }.joined(separator: "&")
            let reply = try await client.request(.PUT, "/v2/app/manifests/\(digest)?\(query)", headers: Self.manifestType, body: manifest)
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.header("Docker-Content-Digest") == digest.description)
            let reported = reply.headers["OCI-Tag"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(reported == tags)
            for tag in tags {
                let get = try await client.request(.GET, "/v2/app/manifests/\(tag)", headers: [("Accept", MediaType.ociManifest)])
                #expect(get.bytes == manifest)
                #expect(get.header("Docker-Content-Digest") == digest.description, "a \(algorithm) manifest keeps its digest")
            }
            let byDigest = try await client.request(.HEAD, "/v2/app/manifests/\(digest)")
            #expect(byDigest.status == .ok)
            #expect(byDigest.header("Docker-Content-Digest") == digest.description)
        }
    }

    @Test func aPushWithOneInvalidTagStoresNothing() async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await emptyImage(client, in: "app")
            let reply = try await client.request(
                .PUT, "/v2/app/manifests/\(digest)?tag=good&tag=.bad&tag=also-good", headers: Self.manifestType, body: manifest)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "TAG_INVALID")
            #expect(reply.text.contains(".bad"))
            for reference in ["good", "also-good", digest.description] {
                #expect(try await client.request(.HEAD, "/v2/app/manifests/\(reference)").status == .notFound, "\(reference)")
            }
        }
    }

    @Test func aPushWithMoreTagsThanTheLimitIs414AndStoresNothing() async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await emptyImage(client, in: "app")
            let atLimit = (0..<Registry.maximumTagsPerPush).map { "tag=t\($0)" }.joined(separator: "&")
            let accepted = try await client.request(.PUT, "/v2/app/manifests/\(digest)?\(atLimit)", headers: Self.manifestType, body: manifest)
            #expect(accepted.status == .created)
            let over = (0...Registry.maximumTagsPerPush).map { "tag=u\($0)" }.joined(separator: "&")
            let refused = try await client.request(.PUT, "/v2/app/manifests/\(digest)?\(over)", headers: Self.manifestType, body: manifest)
            #expect(refused.status == .uriTooLong)
            #expect(refused.errorCode == "TOO_MANY_TAGS")
            #expect(try await client.request(.HEAD, "/v2/app/manifests/u0").status == .notFound)
        }
    }

    @Test func aPushByTagWithTagParametersSetsBoth() async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await emptyImage(client, in: "app")
            let reply = try await client.request(.PUT, "/v2/app/manifests/main?tag=extra", headers: Self.manifestType, body: manifest)
            #expect(reply.status == .created)
            #expect(reply.headers["OCI-Tag"] == ["main", "extra"])
            for tag in ["main", "extra"] {
                #expect(try await client.request(.HEAD, "/v2/app/manifests/\(tag)").header("Docker-Content-Digest") == digest.description)
            }
        }
    }

    // MARK: Uploads

    @Test func anUploadHashesWithTheAlgorithmItAskedFor() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(3000)
            let sha512 = DigestHasher.digest(of: bytes, algorithm: .sha512)
            let start = try await client.request(.POST, "/v2/app/blobs/uploads/?digest-algorithm=sha512")
            #expect(start.status == .accepted)
            let location = try #require(start.header("Location"))
            let patch = try await client.request(
                .PATCH, location, headers: [("Content-Range", "0-1999")], body: Array(bytes[..<2000]))
            #expect(patch.status == .accepted)
            let put = try await client.request(
                .PUT, location + "?digest=\(sha512)", headers: [("Content-Range", "2000-2999")], body: Array(bytes[2000...]))
            #expect(put.status == .created, "\(put.text)")
            #expect(put.header("Docker-Content-Digest") == sha512.description)
            let get = try await client.request(.GET, "/v2/app/blobs/\(sha512)")
            #expect(get.bytes == bytes)
            #expect(get.header("Docker-Content-Digest") == sha512.description)
        }
    }

    @Test func aSessionCompletesWhicheverAlgorithmTheFinalDigestNames() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(100)
            let start = try await client.request(.POST, "/v2/app/blobs/uploads/?digest-algorithm=sha512")
            let location = try #require(start.header("Location"))
            let put = try await client.request(.PUT, location + "?digest=\(RegistryClient.digest(bytes))", body: bytes)
            #expect(put.status == .created)
        }
    }

    @Test(arguments: ["md5", "SHA256", "sha384", ""])
    func anUnknownDigestAlgorithmIsRefusedWithTheReason(algorithm: String) async throws {
        try await TestRegistry.with { client in
            let reply = try await client.request(.POST, "/v2/app/blobs/uploads/?digest-algorithm=\(algorithm)")
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "DIGEST_INVALID")
            #expect(reply.text.contains("supported: sha256, sha512"))
        }
    }

    @Test func cancellingAnUploadIs204AndEndsTheSession() async throws {
        try await TestRegistry.with { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            _ = try await client.request(.PATCH, location, headers: [("Content-Range", "0-2")], body: [1, 2, 3])
            #expect(try await client.request(.DELETE, location).status == .noContent)
            let after = try await client.request(.GET, location)
            #expect(after.status == .notFound)
            #expect(after.errorCode == "BLOB_UPLOAD_UNKNOWN")
        }
    }

    @Test func aFinalChunkOutOfOrderIs416AndKeepsTheSession() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(30)
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            _ = try await client.request(.PATCH, location, headers: [("Content-Range", "0-9")], body: Array(bytes[..<10]))
            let put = try await client.request(
                .PUT, location + "?digest=\(RegistryClient.digest(bytes))", headers: [("Content-Range", "20-29")], body: Array(bytes[20...]))
            #expect(put.status == .rangeNotSatisfiable)
            #expect(put.header("Range") == "0-9")
            #expect(try await client.request(.GET, location).header("Range") == "0-9")
        }
    }

    @Test func blobAnswersCarryTheirDigestAndHeadsTheirLength() async throws {
        try await TestRegistry.with { client in
            let bytes = RegistryClient.randomBytes(1234)
            let digest = try await client.pushBlob(bytes, to: "app")
            let head = try await client.request(.HEAD, "/v2/app/blobs/\(digest)")
            #expect(head.header("Docker-Content-Digest") == digest.description)
            #expect(head.header("Content-Length") == "1234")
            let ranged = try await client.request(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=-10")])
            #expect(ranged.status == .partialContent)
            #expect(ranged.header("Docker-Content-Digest") == digest.description)
            #expect(ranged.bytes == Array(bytes.suffix(10)))
        }
    }

    // MARK: Tags

    @Test func tagsAreListedInByteOrderAndPagedWithLink() async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await emptyImage(client, in: "app")
            let tags = ["b", "B", "a", "A", "10", "9", "_x", "a.b", "a-b"]
            let query = tags.map { "tag=\($0)" }.joined(separator: "&")
            #expect(try await client.request(.PUT, "/v2/app/manifests/\(digest)?\(query)", headers: Self.manifestType, body: manifest).status == .created)
            let expected = tags.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            #expect(expected == ["10", "9", "A", "B", "_x", "a", "a-b", "a.b", "b"])
            let all = try await client.request(.GET, "/v2/app/tags/list")
            #expect(try all.json()["tags"] as? [String] == expected)

            var collected: [String] = []
            var next: String? = "/v2/app/tags/list?n=4"
            while let path = next {
                let page = try await client.request(.GET, path)
                collected += try #require(try page.json()["tags"] as? [String])
                next = page.header("Link").flatMap { link in
                    link.split(separator: ">").first.map { String($0.dropFirst()) }
                }
            }
            #expect(collected == expected)
        }
    }
}
