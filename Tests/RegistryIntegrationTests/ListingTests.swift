import RegistryTestSupport
import Foundation
import NIOHTTP1
import RegistryModel
import Testing

@Suite("Tags, catalog and referrers")
struct ListingTests {
    @Test func tagsAreSortedAndPaginatedWithLinkHeaders() async throws {
        try await TestRegistry.with { client in
            let (manifest, _) = try await client.pushImage(to: "app", tag: "b")
            for tag in ["a", "c", "B", "a1", "z"] {
                _ = try await client.request(.PUT, "/v2/app/manifests/\(tag)", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            }
            let all = try await client.request(.GET, "/v2/app/tags/list")
            #expect(try all.json()["tags"] as? [String] == ["B", "a", "a1", "b", "c", "z"])
            #expect(try all.json()["name"] as? String == "app")
            #expect(all.header("Link") == nil)

            let first = try await client.request(.GET, "/v2/app/tags/list?n=2")
            #expect(try first.json()["tags"] as? [String] == ["B", "a"])
            #expect(first.header("Link") == "</v2/app/tags/list?n=2&last=a>; rel=\"next\"")
            let second = try await client.request(.GET, "/v2/app/tags/list?n=2&last=a")
            #expect(try second.json()["tags"] as? [String] == ["a1", "b"])
            let last = try await client.request(.GET, "/v2/app/tags/list?n=2&last=c")
            #expect(try last.json()["tags"] as? [String] == ["z"])
            #expect(last.header("Link") == nil)
            let exact = try await client.request(.GET, "/v2/app/tags/list?n=6")
            #expect(exact.header("Link") == nil)
            let none = try await client.request(.GET, "/v2/app/tags/list?n=0")
            #expect(try none.json()["tags"] as? [String] == [])
            let bad = try await client.request(.GET, "/v2/app/tags/list?n=-1")
            #expect(bad.status == .badRequest)
        }
    }

    @Test func repositoryWithoutTagsListsAnEmptyArrayAndAnUnknownOneIs404() async throws {
        try await TestRegistry.with { client in
            try await client.pushBlob([1], to: "blobs-only")
            let empty = try await client.request(.GET, "/v2/blobs-only/tags/list")
            #expect(empty.status == .ok)
            #expect(empty.text.contains(#""tags":[]"#))
            let unknown = try await client.request(.GET, "/v2/nothing/tags/list")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "NAME_UNKNOWN")
        }
    }

    @Test func catalogIsSortedAndPaginated() async throws {
        try await TestRegistry.with { client in
            for name in ["c/x", "a", "b/blobs/manifests", "a/b"] {
                try await client.pushBlob([1], to: name)
            }
            let all = try await client.request(.GET, "/v2/_catalog")
            #expect(try all.json()["repositories"] as? [String] == ["a", "a/b", "b/blobs/manifests", "c/x"])
            let page = try await client.request(.GET, "/v2/_catalog?n=2")
            #expect(try page.json()["repositories"] as? [String] == ["a", "a/b"])
            #expect(page.header("Link") == "</v2/_catalog?n=2&last=a/b>; rel=\"next\"")
            let next = try await client.request(.GET, "/v2/_catalog?n=2&last=a/b")
            #expect(try next.json()["repositories"] as? [String] == ["b/blobs/manifests", "c/x"])
        }
    }

    @Test func referrersListManifestsWithThatSubjectAndFilterByArtifactType() async throws {
        try await TestRegistry.with { client in
            let (subjectManifest, subject) = try await client.pushImage(to: "app", tag: "v1")
            let subjectDescriptor: [String: Any] = ["mediaType": MediaType.ociManifest, "digest": subject.description, "size": subjectManifest.count]
            let (_, signature) = try await client.pushImage(to: "app", tag: "sig", extraFields: [
                "artifactType": "application/vnd.example.signature", "subject": subjectDescriptor,
                "annotations": ["org.example.signed-by": "ci"],
            ])
            let (sbomManifest, sbom) = try await client.pushImage(to: "app", tag: "sbom", extraFields: ["subject": subjectDescriptor])

            let all = try await client.request(.GET, "/v2/app/referrers/\(subject)")
            #expect(all.status == .ok)
            #expect(all.header("Content-Type") == MediaType.ociIndex)
            #expect(all.header("OCI-Filters-Applied") == nil)
            let index = try all.json()
            #expect(index["schemaVersion"] as? Int == 2)
            #expect(index["mediaType"] as? String == MediaType.ociIndex)
            let manifests = try #require(index["manifests"] as? [[String: Any]])
            #expect(Set(manifests.compactMap { $0["digest"] as? String }) == [signature.description, sbom.description])
            let signatureEntry = try #require(manifests.first { $0["digest"] as? String == signature.description })
            #expect(signatureEntry["artifactType"] as? String == "application/vnd.example.signature")
            #expect((signatureEntry["annotations"] as? [String: String])?["org.example.signed-by"] == "ci")
            let sbomEntry = try #require(manifests.first { $0["digest"] as? String == sbom.description })
            // Without its own artifactType, an image manifest reports its config's media type.
            #expect(sbomEntry["artifactType"] as? String == "application/vnd.oci.image.config.v1+json")
            #expect(sbomEntry["size"] as? Int == sbomManifest.count)

            let filtered = try await client.request(.GET, "/v2/app/referrers/\(subject)?artifactType=application/vnd.example.signature")
            #expect(filtered.header("OCI-Filters-Applied") == "artifactType")
            #expect((try filtered.json()["manifests"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func referrersOfAnUnknownDigestAreAnEmptyIndex() async throws {
        try await TestRegistry.with { client in
            let reply = try await client.request(.GET, "/v2/nowhere/referrers/\(RegistryClient.digest([42]))")
            #expect(reply.status == .ok)
            #expect((try reply.json()["manifests"] as? [Any])?.isEmpty == true)
        }
    }
}
