extension Check {
    static func manifestPull(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.manifestPull.with(algorithm)
        return [
            Check("manifestPulledByTagIsByteExact", "end-3", feature) { context in
                let tag = context.run.tag("pull-tag-\(algorithm)")
                let image = try await context.pushImage(tag: tag)
                let response = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(tag)", headers: [("Accept", Fixtures.ociManifest)])
                try context.expectStatus(response, 200, for: "GET manifest by tag")
                try context.expect(response.body == image.manifest, "the pushed bytes", got: "\(response.body.count) other bytes")
                try context.expectHeader(response, "Content-Type", equals: Fixtures.ociManifest)
                try context.expectDigestHeader(response, of: image.manifest, for: "GET manifest by tag")
            },
            Check("manifestPulledByDigestIsByteExact", "end-3", feature) { context in
                let image = try await context.pushImage(tag: context.run.tag("pull-digest-\(algorithm)"))
                let response = try await context.send(
                    .GET, "/v2/\(context.repository)/manifests/\(image.digest)", headers: [("Accept", Fixtures.ociManifest)])
                try context.expectStatus(response, 200, for: "GET manifest by digest")
                try context.expect(response.body == image.manifest, "the pushed bytes", got: "\(response.body.count) other bytes")
                try context.expectHeader(response, "Content-Type", equals: Fixtures.ociManifest)
                try context.expectDigestHeader(response, of: image.manifest, for: "GET manifest by digest")
            },
            Check("manifestHeadReportsLengthAndDigest", "end-3", feature) { context in
                let tag = context.run.tag("pull-head-\(algorithm)")
                let image = try await context.pushImage(tag: tag)
                for reference in [tag, image.digest] {
                    let response = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(reference)", headers: [("Accept", Fixtures.ociManifest)])
                    try context.expectStatus(response, 200, for: "HEAD manifest \(reference)")
                    try context.expectHeader(response, "Content-Length", equals: "\(image.manifest.count)")
                    try context.expectDigestHeader(response, of: image.manifest, for: "HEAD manifest \(reference)")
                    try context.expect(response.body.isEmpty, "no body", got: "\(response.body.count) bytes")
                }
            },
            Check("unknownManifestIs404ManifestUnknown", "end-3", feature) { context in
                let response = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(context.run.tag("missing"))")
                try context.expectStatus(response, 404, for: "GET of an unknown tag")
                try context.expectErrorCode(response, "MANIFEST_UNKNOWN")
                let digest = context.digest(Digests.randomBytes(8))
                let get = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(digest)")
                try context.expectStatus(get, 404, for: "GET of an unknown digest")
                try context.expectErrorCode(get, "MANIFEST_UNKNOWN")
                let head = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(digest)")
                try context.expectStatus(head, 404, for: "HEAD of an unknown digest")
            },
        ]
    }
}
