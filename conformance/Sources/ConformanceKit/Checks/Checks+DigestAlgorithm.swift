extension Check {
    /// `POST /v2/<name>/blobs/uploads/?digest-algorithm=` (end-4c, main-branch spec): a session
    /// opened for sha512 completes with a sha512 digest, sha256 may be named explicitly, and an
    /// algorithm the registry does not support is refused up front (400) rather than at the end.
    static let digestAlgorithm: [Check] = [
        Check("monolithicUploadWithDigestAlgorithmSha512CreatesBlob", "end-4c", .digestAlgorithm) { context in
            let bytes = Digests.randomBytes(4000)
            let digest = Digests.sha512(bytes)
            let start = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?digest-algorithm=sha512")
            try context.expectStatus(start, 202, for: "POST ?digest-algorithm=sha512")
            let put = try await context.close(try context.location(start), digest: digest, lastChunk: bytes)
            try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest=sha512:...")
        },
        Check("chunkedUploadWithDigestAlgorithmSha512CreatesBlob", "end-4c", .digestAlgorithm) { context in
            let bytes = Digests.randomBytes(2500)
            let digest = Digests.sha512(bytes)
            let start = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?digest-algorithm=sha512")
            try context.expectStatus(start, 202, for: "POST ?digest-algorithm=sha512")
            let first = try await context.patch(try context.location(start), Array(bytes[0..<1500]), from: 0)
            try context.expectStatus(first, 202, for: "PATCH 0-1499")
            let second = try await context.patch(try context.location(first), Array(bytes[1500...]), from: 1500)
            try context.expectStatus(second, 202, for: "PATCH 1500-2499")
            let put = try await context.close(try context.location(second), digest: digest)
            try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest=sha512:... closing the chunks")
        },
        Check("explicitSha256DigestAlgorithmIsAccepted", "end-4c", .digestAlgorithm) { context in
            let bytes = Digests.randomBytes(1000)
            let digest = Digests.sha256(bytes)
            let start = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?digest-algorithm=sha256")
            try context.expectStatus(start, 202, for: "POST ?digest-algorithm=sha256")
            let put = try await context.close(try context.location(start), digest: digest, lastChunk: bytes)
            try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest=sha256:...")
        },
        Check("unsupportedDigestAlgorithmIsRejected", "end-4c", .digestAlgorithm) { context in
            let start = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?digest-algorithm=md5")
            if let location = start.header("Location"), start.status == 202 { await context.abandon(location) }
            try context.expectStatus(start, 400, for: "POST ?digest-algorithm=md5")
            try context.expectErrorCode(start, "DIGEST_INVALID", "UNSUPPORTED")
        },
    ]
}
