import Foundation

extension Check {
    /// `PUT /v2/<name>/manifests/<digest>?tag=...` (end-7b, main-branch spec).
    static func multiTagPush(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.multiTagPush.with(algorithm)
        return [
            Check("multiTagPushNamesEveryTagInOCITag", "end-7b", feature) { context in
                let (image, tags) = try await context.multiTagSetup()
                let response = try await context.putManifest(
                    image.manifest, mediaType: Fixtures.ociManifest, reference: image.digest, query: context.tagQuery(tags))
                try context.expectStatus(response, 201, for: "PUT by digest with \(tags.count) tag parameters")
                try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
                let reported = response.ociTags
                try context.expect(Set(reported) == Set(tags), "OCI-Tag naming \(tags)", got: reported.isEmpty ? "no OCI-Tag header" : "\(reported)")
            },
            Check("everyTagOfAMultiTagPushResolvesToTheManifest", "end-7b", feature) { context in
                let (image, tags) = try await context.multiTagSetup()
                let response = try await context.putManifest(
                    image.manifest, mediaType: Fixtures.ociManifest, reference: image.digest, query: context.tagQuery(tags))
                try context.expectStatus(response, 201, for: "PUT by digest with \(tags.count) tag parameters")
                for tag in tags {
                    try await context.expectManifest(tag, equals: image.manifest, mediaType: Fixtures.ociManifest)
                }
                let listed = try await context.allTags()
                let missing = tags.filter { !listed.contains($0) }
                try context.expect(missing.isEmpty, "tags/list to list every tag", got: "\(missing) missing")
            },
            Check("multiTagPushWithAnInvalidTagCreatesNone", "end-7b", feature) { context in
                let (image, tags) = try await context.multiTagSetup()
                let withInvalid = Array(tags.prefix(5)) + [".invalid-tag"] + Array(tags.dropFirst(5))
                let response = try await context.putManifest(
                    image.manifest, mediaType: Fixtures.ociManifest, reference: image.digest, query: context.tagQuery(withInvalid))
                try context.expectStatus(response, 400, for: "PUT by digest with an invalid tag among \(withInvalid.count)")
                try context.expectErrorCode(response, "TAG_INVALID", "MANIFEST_INVALID")
                for tag in tags {
                    let head = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(tag)")
                    try context.expectStatus(head, 404, for: "HEAD of tag \(tag) from the rejected push")
                }
            },
        ]
    }
}

extension CheckContext {
    /// An image whose blobs are pushed, and twelve fresh tags for it.
    func multiTagSetup() async throws -> (Fixtures.Image, [String]) {
        let image = try Fixtures.image(layers: [Digests.randomBytes(200)], algorithm: algorithm)
        for blob in image.blobs { try await pushBlob(blob) }
        let suffix = "\(algorithm)-\(run.id)-\(UInt16.random(in: .min ... .max))"
        let tags = ["1.2.3", "1.2", "1", "latest", "Stable", "v2_rc.1", "a-b", "Z9", "nightly", "x", "y", "build.42"].map { "\($0)-\(suffix)" }
        return (image, tags)
    }

    func tagQuery(_ tags: [String]) -> String {
        "?" + tags.map { "tag=\($0)" }.joined(separator: "&")
    }
}

extension ConformanceClient.Response {
    /// The tags of every `OCI-Tag` header line, comma-separated lists split (RFC 9110 section 5.3).
    var ociTags: [String] {
        headers["OCI-Tag"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
