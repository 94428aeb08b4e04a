import RegistryTestSupport
import Foundation
import NIOHTTP1
import RegistryModel
import Testing

@Suite("Manifests")
struct ManifestTests {
    @Test func manifestPushedByTagIsServedByteExactByTagAndDigest() async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await client.pushImage(to: "team/app", tag: "v1")
            for reference in ["v1", digest.description] {
                let get = try await client.request(.GET, "/v2/team/app/manifests/\(reference)", headers: [("Accept", MediaType.ociManifest)])
                #expect(get.status == .ok)
                #expect(get.bytes == manifest)
                #expect(get.header("Content-Type") == MediaType.ociManifest)
                #expect(get.header("Docker-Content-Digest") == digest.description)
                #expect(get.header("Content-Length") == "\(manifest.count)")
                let head = try await client.request(.HEAD, "/v2/team/app/manifests/\(reference)")
                #expect(head.status == .ok)
                #expect(head.header("Content-Length") == "\(manifest.count)")
                #expect(head.header("Docker-Content-Digest") == digest.description)
                #expect(head.body.readableBytes == 0)
            }
        }
    }

    @Test func pushResponseCarriesLocationAndDigest() async throws {
        try await TestRegistry.with { client in
            let config = try await client.pushBlob(Array("{}".utf8), to: "app")
            let manifest = try RegistryClient.emptyImageManifest(config: config, size: 2)
            let digest = RegistryClient.digest(manifest)
            let reply = try await client.request(.PUT, "/v2/app/manifests/latest", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(reply.status == .created)
            #expect(reply.header("Location") == "/v2/app/manifests/\(digest)")
            #expect(reply.header("Docker-Content-Digest") == digest.description)
            #expect(reply.header("OCI-Subject") == nil)
            let byDigest = try await client.request(.PUT, "/v2/app/manifests/\(digest)", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(byDigest.status == .created)
        }
    }

    @Test func manifestReferencingMissingBlobsIsRefused() async throws {
        try await TestRegistry.with { client in
            let missing = RegistryClient.digest([9, 9, 9])
            let manifest = try RegistryClient.emptyImageManifest(config: missing, size: 3)
            let reply = try await client.request(.PUT, "/v2/app/manifests/v1", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "MANIFEST_BLOB_UNKNOWN")
            #expect(reply.text.contains(missing.description))
            #expect(try await client.request(.GET, "/v2/app/manifests/v1").status == .notFound)
        }
    }

    @Test func blobPushedToAnotherRepositoryDoesNotSatisfyAManifest() async throws {
        try await TestRegistry.with { client in
            let config = try await client.pushBlob(Array("{}".utf8), to: "other")
            let manifest = try RegistryClient.emptyImageManifest(config: config, size: 2)
            let reply = try await client.request(.PUT, "/v2/app/manifests/v1", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(reply.errorCode == "MANIFEST_BLOB_UNKNOWN")
        }
    }

    @Test func manifestWithAMissingSubjectIsAcceptedAndReportsIt() async throws {
        try await TestRegistry.with { client in
            let subject = RegistryClient.digest(Array("not pushed".utf8))
            let (_, digest) = try await client.pushImage(
                to: "app", tag: "sig", extraFields: [
                    "artifactType": "application/vnd.example.sig",
                    "subject": ["mediaType": MediaType.ociManifest, "digest": subject.description, "size": 10],
                ])
            let referrers = try await client.request(.GET, "/v2/app/referrers/\(subject)")
            let manifests = try #require(try referrers.json()["manifests"] as? [[String: Any]])
            #expect(manifests.count == 1)
            #expect(manifests.first?["digest"] as? String == digest.description)
        }
    }

    @Test func invalidManifestsAreRefusedWithManifestInvalid() async throws {
        try await TestRegistry.with { client in
            let cases: [(String, [UInt8])] = [
                (MediaType.ociManifest, Array("not json".utf8)),
                (MediaType.ociManifest, try RegistryClient.json(["schemaVersion": 2, "mediaType": MediaType.ociManifest, "layers": []])),
                (MediaType.ociIndex, try RegistryClient.json(["schemaVersion": 2, "mediaType": MediaType.ociManifest, "config": [:], "layers": []])),
                (MediaType.ociManifest, try RegistryClient.json(["schemaVersion": 1, "name": "x", "fsLayers": []])),
                ("application/vnd.example.unknown+json", try RegistryClient.json(["schemaVersion": 2])),
            ]
            for (contentType, body) in cases {
                let reply = try await client.request(.PUT, "/v2/app/manifests/v1", headers: [("Content-Type", contentType)], body: body)
                #expect(reply.status == .badRequest, "\(String(decoding: body, as: UTF8.self))")
                #expect(reply.errorCode == "MANIFEST_INVALID")
            }
        }
    }

    @Test func manifestPushedByAWrongDigestIsRefused() async throws {
        try await TestRegistry.with { client in
            let config = try await client.pushBlob(Array("{}".utf8), to: "app")
            let manifest = try RegistryClient.emptyImageManifest(config: config, size: 2)
            let reply = try await client.request(
                .PUT, "/v2/app/manifests/\(RegistryClient.digest([1]))", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "DIGEST_INVALID")
        }
    }

    @Test func oversizedManifestGets413() async throws {
        try await TestRegistry.with { client in
            let body = Array(repeating: UInt8(ascii: " "), count: 4 * 1024 * 1024 + 1)
            let reply = try await client.request(.PUT, "/v2/app/manifests/big", headers: [("Content-Type", MediaType.ociManifest)], body: body)
            #expect(reply.status == .payloadTooLarge)
            #expect(reply.errorCode == "SIZE_TOO_LARGE")
        }
    }

    @Test func indexNeedsItsChildManifestsInTheRepository() async throws {
        try await TestRegistry.with { client in
            let (child, childDigest) = try await client.pushImage(to: "app", tag: "amd64")
            let index: (Digest) throws -> [UInt8] = { digest in
                try RegistryClient.json([
                    "schemaVersion": 2, "mediaType": MediaType.ociIndex,
                    "manifests": [["mediaType": MediaType.ociManifest, "digest": digest.description, "size": child.count,
                                   "platform": ["os": "linux", "architecture": "amd64"]]],
                ])
            }
            let missing = try await client.request(
                .PUT, "/v2/app/manifests/multi", headers: [("Content-Type", MediaType.ociIndex)], body: try index(RegistryClient.digest([7])))
            #expect(missing.errorCode == "MANIFEST_BLOB_UNKNOWN")
            let ok = try await client.request(.PUT, "/v2/app/manifests/multi", headers: [("Content-Type", MediaType.ociIndex)], body: try index(childDigest))
            #expect(ok.status == .created)
        }
    }

    @Test func deletingATagKeepsTheManifestAndDeletingTheDigestRemovesItsTags() async throws {
        try await TestRegistry.with { client in
            let (manifest, digest) = try await client.pushImage(to: "app", tag: "v1")
            #expect(try await client.request(.PUT, "/v2/app/manifests/v2", headers: [("Content-Type", MediaType.ociManifest)], body: manifest).status == .created)
            #expect(try await client.request(.DELETE, "/v2/app/manifests/v1").status == .accepted)
            #expect(try await client.request(.GET, "/v2/app/manifests/v1").status == .notFound)
            #expect(try await client.request(.GET, "/v2/app/manifests/\(digest)").status == .ok)
            #expect(try await client.request(.GET, "/v2/app/manifests/v2").status == .ok)
            #expect(try await client.request(.DELETE, "/v2/app/manifests/\(digest)").status == .accepted)
            let gone = try await client.request(.GET, "/v2/app/manifests/v2")
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "MANIFEST_UNKNOWN")
            #expect(try await client.request(.GET, "/v2/app/manifests/\(digest)").status == .notFound)
            #expect(try await client.request(.DELETE, "/v2/app/manifests/\(digest)").status == .notFound)
            let tags = try await client.request(.GET, "/v2/app/tags/list")
            #expect(try tags.json()["tags"] as? [String] == [])
        }
    }

    @Test func deletesCanBeDisabled() async throws {
        try await TestRegistry.with(configure: { $0.deletesEnabled = false }) { client in
            let (_, digest) = try await client.pushImage(to: "app", tag: "v1")
            let manifest = try await client.request(.DELETE, "/v2/app/manifests/\(digest)")
            #expect(manifest.status == .methodNotAllowed)
            #expect(manifest.errorCode == "UNSUPPORTED")
            let blob = try await client.pushBlob([1, 2], to: "app")
            #expect(try await client.request(.DELETE, "/v2/app/blobs/\(blob)").status == .methodNotAllowed)
            #expect(try await client.request(.GET, "/v2/app/manifests/v1").status == .ok)
        }
    }

    @Test func readOnlyRegistryServesAnExistingRootAndRefusesWrites() async throws {
        let writable = try await TestRegistry.start()
        let (manifest, _) = try await RegistryClient(registry: writable).pushImage(to: "app", tag: "v1")
        await writable.stop()
        let readOnly = try await TestRegistry.start(root: writable.root, configure: { $0.readOnly = true })
        let client = RegistryClient(registry: readOnly)
        let reply = try await client.request(.POST, "/v2/app/blobs/uploads/")
        #expect(reply.status == .methodNotAllowed)
        #expect(reply.errorCode == "UNSUPPORTED")
        #expect(try await client.request(.DELETE, "/v2/app/manifests/v1").status == .methodNotAllowed)
        #expect(try await client.request(.GET, "/v2/app/manifests/v1").bytes == manifest)
        #expect(try await client.request(.GET, "/readyz").status == .ok)
        await readOnly.stop()
    }

    @Test func readOnlyRegistryWithoutARootFailsToStartWithAClearError() async throws {
        let root = try TestRegistry.makeTemporaryDirectory() + "/missing"
        await #expect(throws: TestFailure.self) {
            try await TestRegistry.start(root: root, configure: { $0.readOnly = true })
        }
    }

    @Test func conditionalGetAnswers304ForAMatchingETag() async throws {
        try await TestRegistry.with { client in
            let (_, digest) = try await client.pushImage(to: "app", tag: "v1")
            let first = try await client.request(.GET, "/v2/app/manifests/v1")
            let etag = try #require(first.header("ETag"))
            #expect(etag == "\"\(digest)\"")
            let again = try await client.request(.GET, "/v2/app/manifests/v1", headers: [("If-None-Match", etag)])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            let other = try await client.request(.GET, "/v2/app/manifests/v1", headers: [("If-None-Match", "\"sha256:0\"")])
            #expect(other.status == .ok)
        }
    }
}
