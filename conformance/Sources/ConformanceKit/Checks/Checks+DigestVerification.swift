extension Check {
    /// Every way of pushing a blob must refuse a digest that does not match the bytes sent
    /// (400 `DIGEST_INVALID`) and store nothing. The bytes sent are the announced blob with
    /// five more bytes at the end.
    static func digestVerification(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.digestVerification.with(algorithm)
        return [
            Check("wrongDigestOnSinglePostIsRejected", "end-4b", feature) { context in
                try await context.pushWithWrongDigest("a single POST ?digest=") { context, digest, sent in
                    let post = try await context.send(
                        .POST, "/v2/\(context.repository)/blobs/uploads/?digest=\(digest)",
                        headers: [("Content-Type", "application/octet-stream")], body: .bytes(sent))
                    guard post.status == 202 else { return post }
                    // A registry that ignores the body opens a session; its closing PUT must refuse.
                    return try await context.close(try context.location(post), digest: digest, lastChunk: sent)
                }
            },
            Check("wrongDigestOnPostThenPutIsRejected", "end-6", feature) { context in
                try await context.pushWithWrongDigest("POST then PUT ?digest= with the body") { context, digest, sent in
                    try await context.close(try await context.openSession(), digest: digest, lastChunk: sent)
                }
            },
            Check("wrongDigestOnChunkedUploadIsRejected", "end-6", feature) { context in
                try await context.pushWithWrongDigest("PATCH chunks then PUT ?digest=") { context, digest, sent in
                    var location = try await context.openSession()
                    for lower in stride(from: 0, to: sent.count, by: 1024) {
                        let patch = try await context.patch(location, Array(sent[lower..<min(lower + 1024, sent.count)]), from: lower)
                        try context.expectStatus(patch, 202, for: "PATCH from \(lower)")
                        location = try context.location(patch)
                    }
                    return try await context.close(location, digest: digest)
                }
            },
            Check("wrongDigestWithTheFinalChunkInPutIsRejected", "end-6", feature) { context in
                try await context.pushWithWrongDigest("PATCH then PUT ?digest= with the last chunk") { context, digest, sent in
                    let patch = try await context.patch(try await context.openSession(), Array(sent[0..<1024]), from: 0)
                    try context.expectStatus(patch, 202, for: "PATCH 0-1023")
                    return try await context.close(try context.location(patch), digest: digest, lastChunk: Array(sent[1024...]), from: 1024)
                }
            },
            Check("wrongDigestOnStreamedPatchIsRejected", "end-6", feature) { context in
                try await context.pushWithWrongDigest("a streamed PATCH then PUT ?digest=") { context, digest, sent in
                    let patch = try await context.send(
                        .PATCH, try await context.openSession(), headers: [("Content-Type", "application/octet-stream")],
                        body: .stream([Array(sent[0..<1500]), Array(sent[1500...])]))
                    try context.expectStatus(patch, 202, for: "a streamed PATCH")
                    return try await context.close(try context.location(patch), digest: digest)
                }
            },
        ]
    }
}

extension CheckContext {
    /// Pushes 3 KiB announced as `digest` of other bytes by `push`, which returns the answer
    /// to the request that names the digest: it must be 400 `DIGEST_INVALID`, and neither
    /// digest may exist afterwards.
    func pushWithWrongDigest(
        _ method: String, _ push: (CheckContext, _ digest: String, _ sent: [UInt8]) async throws -> ConformanceClient.Response
    ) async throws {
        let announced = Digests.randomBytes(3 * 1024 - 5)
        let sent = announced + Array("oh no".utf8)
        let digest = digest(announced)
        let response = try await push(self, digest, sent)
        if response.status == 201 { run.created(blob: digest, in: repository) }
        try expectStatus(response, 400, for: "\(method) whose digest does not match the bytes")
        try expectErrorCode(response, "DIGEST_INVALID")
        try await expectNoBlobs([digest, self.digest(sent)], after: "the rejected upload")
    }
}
