extension Check {
    static func monolithicPush(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.monolithicPush.with(algorithm)
        var checks = [
            Check("uploadStartsWith202AndLocation", "end-4a", feature) { context in
                let response = try await context.startUpload()
                try context.expectStatus(response, 202, for: "POST /blobs/uploads/")
                try context.expectHeader(response, "Location")
                if let location = response.header("Location") { await context.abandon(location) }
            },
            Check("postThenPutWithBodyCreatesBlob", "end-6", feature) { context in
                let bytes = Digests.randomBytes(5000)
                let digest = context.digest(bytes)
                let location = try await context.openSession()
                let put = try await context.close(location, digest: digest, lastChunk: bytes)
                try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= with the blob")
            },
            Check("singlePostWithDigestCreatesBlob", "end-4b", feature) { context in
                let bytes = Digests.randomBytes(2048)
                let digest = context.digest(bytes)
                let response = try await context.send(
                    .POST, "/v2/\(context.repository)/blobs/uploads/?digest=\(digest)",
                    headers: [("Content-Type", "application/octet-stream")], body: .bytes(bytes))
                switch response.status {
                case 202:
                    // The spec lets a registry ignore the body and open a session instead.
                    let put = try await context.close(try context.location(response), digest: digest, lastChunk: bytes)
                    try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "completing the session a single POST opened")
                default:
                    try await context.expectBlobCreated(response, digest: digest, bytes: bytes, by: "POST ?digest= with the blob")
                }
            },
            Check("zeroByteBlobRoundTrips", "end-6", feature) { context in
                let digest = try await context.pushBlob([])
                try await context.expectBlobHead(digest, of: [])
                try await context.expectBlob(digest, equals: [])
            },
            Check("emptyJSONBlobRoundTrips", "end-6", feature) { context in
                let bytes = Array("{}".utf8)
                let digest = try await context.pushBlob(bytes)
                try await context.expectBlobHead(digest, of: bytes)
                try await context.expectBlob(digest, equals: bytes)
            },
        ]
        if algorithm == .sha256 {
            checks.insert(
                Check("invalidRepositoryNameIsRejectedWithNameInvalid", "end-4a", feature) { context in
                    let response = try await context.send(.POST, "/v2/\(context.repository)/Invalid_Name/blobs/uploads/")
                    try context.expectStatus(response, 400, for: "POST /blobs/uploads/ on a name with upper-case letters")
                    try context.expectErrorCode(response, "NAME_INVALID")
                }, at: 1)
        }
        return checks
    }
}
