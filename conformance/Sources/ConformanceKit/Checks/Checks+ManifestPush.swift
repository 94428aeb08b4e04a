extension Check {
    static func manifestPush(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.manifestPush.with(algorithm)
        var checks = [
            Check("manifestPushedByTagIs201WithLocationAndDigest", "end-7", feature) { context in
                let image = try Fixtures.image(layers: [Digests.randomBytes(100)], algorithm: algorithm)
                for blob in image.blobs { try await context.pushBlob(blob) }
                let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: context.run.tag("push-\(algorithm)"))
                try await context.expectManifestCreated(response, image.manifest, by: "PUT manifest by tag")
            },
            Check("manifestPushedByDigestIs201WithLocationAndDigest", "end-7", feature) { context in
                let image = try Fixtures.image(layers: [Digests.randomBytes(100)], algorithm: algorithm)
                for blob in image.blobs { try await context.pushBlob(blob) }
                let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: image.digest)
                try await context.expectManifestCreated(response, image.manifest, by: "PUT manifest by digest")
                // The spec: the header "MUST be equal to the client provided digest".
                try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
                try await context.expectManifest(image.digest, equals: image.manifest, mediaType: Fixtures.ociManifest)
            },
            Check("manifestWithMissingBlobsIsRejected", "end-7", feature) { context in
                let image = try Fixtures.image(layers: [Digests.randomBytes(100)], algorithm: algorithm)
                try await context.pushBlob(image.config)
                let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: image.digest)
                try context.expectStatus(response, 400, 404, for: "PUT of a manifest whose layer was never pushed")
                try context.expectErrorCode(response, "MANIFEST_BLOB_UNKNOWN")
            },
            Check("manifestWhoseDigestDoesNotMatchIsRejected", "end-7", feature) { context in
                let image = try await context.pushImage()
                let other = context.digest(Digests.randomBytes(64))
                let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: other)
                try context.expectStatus(response, 400, for: "PUT of a manifest to a digest of other bytes")
                try context.expectErrorCode(response, "DIGEST_INVALID", "MANIFEST_INVALID")
                let get = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(other)")
                try context.expectStatus(get, 404, for: "HEAD of the digest the rejected manifest was pushed to")
            },
        ]
        if algorithm == .sha256 {
            checks += [
                Check("oversizedManifestIsRejectedWith413", "end-7", feature) { context in
                    let body = Array(repeating: UInt8(ascii: " "), count: 4 * 1024 * 1024 + 1)
                    let response = try await context.send(
                        .PUT, "/v2/\(context.repository)/manifests/\(context.run.tag("huge"))",
                        headers: [("Content-Type", Fixtures.ociManifest)], body: .bytes(body))
                    try context.expectStatus(response, 413, for: "PUT of a manifest over 4 MiB")
                },
                Check("invalidManifestIsRejected", "end-7", feature) { context in
                    let response = try await context.putManifest(Array("{not json".utf8), mediaType: Fixtures.ociManifest, reference: context.run.tag("invalid"))
                    try context.expectStatus(response, 400, for: "PUT of a manifest that is not JSON")
                    try context.expectErrorCode(response, "MANIFEST_INVALID")
                },
            ]
        }
        return checks
    }
}

extension CheckContext {
    /// A manifest push answered 201 with a `Location` that serves the manifest and a
    /// `Docker-Content-Digest` of it.
    func expectManifestCreated(_ response: ConformanceClient.Response, _ bytes: [UInt8], by what: String, mediaType: String = Fixtures.ociManifest) async throws {
        try expectStatus(response, 201, for: what)
        try expectDigestHeader(response, of: bytes, for: what)
        let location = try location(response)
        let get = try await send(.GET, location, headers: [("Accept", mediaType)])
        try expectStatus(get, 200, for: "GET of the Location \(location) the registry returned")
        try expect(get.body == bytes, "the pushed \(bytes.count) bytes at \(location)", got: "\(get.body.count) other bytes")
    }
}
