extension Check {
    static let pull: [Check] = [
        Check("baseEndpointAnswers200", "end-1", .pull) { context in
            let response = try await context.send(.GET, "/v2/")
            try context.expectStatus(response, 200, for: "GET /v2/")
        },
        Check("manifestPulledByTagIsByteExact", "end-3", .pull) { context in
            let image = try await context.pushImage(tag: context.run.tag("pull-tag"))
            let response = try await context.send(
                .GET, "/v2/\(context.repository)/manifests/\(context.run.tag("pull-tag"))", headers: [("Accept", Fixtures.ociManifest)])
            try context.expectStatus(response, 200, for: "GET manifest by tag")
            try context.expect(response.body == image.manifest, "the pushed bytes", got: "\(response.body.count) other bytes")
            try context.expectHeader(response, "Content-Type", equals: Fixtures.ociManifest)
            try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
        },
        Check("manifestPulledByDigestIsByteExact", "end-3", .pull) { context in
            let image = try await context.pushImage(tag: context.run.tag("pull-digest"))
            let response = try await context.send(
                .GET, "/v2/\(context.repository)/manifests/\(image.digest)", headers: [("Accept", Fixtures.ociManifest)])
            try context.expectStatus(response, 200, for: "GET manifest by digest")
            try context.expect(response.body == image.manifest, "the pushed bytes", got: "\(response.body.count) other bytes")
            try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
        },
        Check("manifestHeadReportsLengthAndDigest", "end-3", .pull) { context in
            let tag = context.run.tag("pull-head")
            let image = try await context.pushImage(tag: tag)
            for reference in [tag, image.digest] {
                let response = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(reference)", headers: [("Accept", Fixtures.ociManifest)])
                try context.expectStatus(response, 200, for: "HEAD manifest \(reference)")
                try context.expectHeader(response, "Content-Length", equals: "\(image.manifest.count)")
                try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
                try context.expect(response.body.isEmpty, "no body", got: "\(response.body.count) bytes")
            }
        },
        Check("unknownManifestIs404ManifestUnknown", "end-3", .pull) { context in
            let response = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(context.run.tag("missing"))")
            try context.expectStatus(response, 404, for: "GET of an unknown tag")
            try context.expectErrorCode(response, "MANIFEST_UNKNOWN")
            let head = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(Digests.sha256(Digests.randomBytes(8)))")
            try context.expectStatus(head, 404, for: "HEAD of an unknown digest")
        },
        Check("blobPulledByDigestIsByteExact", "end-2", .pull) { context in
            let bytes = Digests.randomBytes(3000)
            let digest = try await context.pushBlob(bytes)
            let response = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)")
            try context.expectStatus(response, 200, for: "GET blob")
            try context.expect(response.body == bytes, "the pushed bytes", got: "\(response.body.count) other bytes")
            try context.expectHeader(response, "Content-Length", equals: "\(bytes.count)")
        },
        Check("blobHeadReportsLengthAndDigest", "end-2", .pull) { context in
            let bytes = Digests.randomBytes(1234)
            let digest = try await context.pushBlob(bytes)
            let response = try await context.send(.HEAD, "/v2/\(context.repository)/blobs/\(digest)")
            try context.expectStatus(response, 200, for: "HEAD blob")
            try context.expectHeader(response, "Content-Length", equals: "1234")
            try context.expectHeader(response, "Docker-Content-Digest", equals: digest)
            try context.expect(response.body.isEmpty, "no body", got: "\(response.body.count) bytes")
        },
        Check("unknownBlobIs404BlobUnknown", "end-2", .pull) { context in
            let digest = Digests.sha256(Digests.randomBytes(8))
            let response = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)")
            try context.expectStatus(response, 404, for: "GET of an unknown blob")
            try context.expectErrorCode(response, "BLOB_UNKNOWN")
            let head = try await context.send(.HEAD, "/v2/\(context.repository)/blobs/\(digest)")
            try context.expectStatus(head, 404, for: "HEAD of an unknown blob")
        },
        Check("blobRangeRequestReturnsPartialContent", "end-2", .pull) { context in
            let bytes = Digests.randomBytes(1000)
            let digest = try await context.pushBlob(bytes)
            let response = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)", headers: [("Range", "bytes=100-199")])
            try context.expectStatus(response, 206, for: "GET blob with Range: bytes=100-199")
            try context.expectHeader(response, "Content-Range", equals: "bytes 100-199/1000")
            try context.expect(response.body == Array(bytes[100...199]), "bytes 100-199", got: "\(response.body.count) other bytes")
        },
    ]
}
