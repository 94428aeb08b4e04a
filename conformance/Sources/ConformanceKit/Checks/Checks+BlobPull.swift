extension Check {
    static func blobPull(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.blobPull.with(algorithm)
        return [
            Check("blobPulledByDigestIsByteExact", "end-2", feature) { context in
                let bytes = Digests.randomBytes(3000)
                let digest = try await context.pushBlob(bytes)
                let response = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)")
                try context.expectStatus(response, 200, for: "GET blob")
                try context.expect(response.body == bytes, "the pushed bytes", got: "\(response.body.count) other bytes")
                try context.expectHeader(response, "Content-Length", equals: "\(bytes.count)")
                try context.expectDigestHeader(response, of: bytes, for: "GET blob")
            },
            Check("blobHeadReportsLengthAndDigest", "end-2", feature) { context in
                let bytes = Digests.randomBytes(1234)
                let digest = try await context.pushBlob(bytes)
                try await context.expectBlobHead(digest, of: bytes)
            },
            Check("unknownBlobIs404BlobUnknown", "end-2", feature) { context in
                let digest = context.digest(Digests.randomBytes(8))
                let response = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)")
                try context.expectStatus(response, 404, for: "GET of an unknown blob")
                try context.expectErrorCode(response, "BLOB_UNKNOWN")
                let head = try await context.send(.HEAD, "/v2/\(context.repository)/blobs/\(digest)")
                try context.expectStatus(head, 404, for: "HEAD of an unknown blob")
            },
        ]
    }
}
