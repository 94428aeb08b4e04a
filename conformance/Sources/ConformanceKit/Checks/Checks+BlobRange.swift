extension Check {
    /// `Range` requests (RFC 9110 section 14) on a 2048-byte blob pushed just before.
    static func blobRange(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.blobRange.with(algorithm)
        let size = 2048
        return [
            Check("rangeOfTheWholeBlobIs206", "end-2", feature) { context in
                try await context.expectPartialContent("bytes=0-\(size - 1)", first: 0, last: size - 1, size: size)
            },
            Check("openEndedRangeIs206", "end-2", feature) { context in
                try await context.expectPartialContent("bytes=500-", first: 500, last: size - 1, size: size)
            },
            Check("suffixRangeIs206", "end-2", feature) { context in
                try await context.expectPartialContent("bytes=-500", first: size - 500, last: size - 1, size: size)
            },
            Check("middleRangeIs206", "end-2", feature) { context in
                try await context.expectPartialContent("bytes=500-1499", first: 500, last: 1499, size: size)
            },
            Check("rangeOverlappingTheEndIsShortened", "end-2", feature) { context in
                try await context.expectPartialContent("bytes=2000-5000", first: 2000, last: size - 1, size: size)
            },
            Check("rangePastTheEndIs416", "end-2", feature) { context in
                let digest = try await context.pushBlob(Digests.randomBytes(size))
                let response = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)", headers: [("Range", "bytes=5000-10000")])
                try context.expectStatus(response, 416, for: "GET of a \(size)-byte blob with Range: bytes=5000-10000")
                try context.expectUnsatisfiableRange(response, size: size)
            },
        ]
    }
}

extension CheckContext {
    /// Pushes a fresh blob of `size` bytes and asks for `range`: 206 with bytes `first...last`,
    /// their `Content-Length`, and `Content-Range: bytes first-last/size` (or `/*`).
    func expectPartialContent(_ range: String, first: Int, last: Int, size: Int) async throws {
        let bytes = Digests.randomBytes(size)
        let digest = try await pushBlob(bytes)
        try await expectPartialContent(of: digest, bytes, range, first: first, last: last)
    }

    /// Blob `digest` (`bytes`) asked for with `range` answers 206 with bytes `first...last`.
    func expectPartialContent(of digest: String, _ bytes: [UInt8], _ range: String, first: Int, last: Int, in repository: String? = nil) async throws {
        let size = bytes.count
        let response = try await send(.GET, "/v2/\(repository ?? self.repository)/blobs/\(digest)", headers: [("Range", range)])
        try expectStatus(response, 206, for: "GET of a \(size)-byte blob with Range: \(range)")
        let contentRange = response.header("Content-Range") ?? "none"
        try expect(
            ["bytes \(first)-\(last)/\(size)", "bytes \(first)-\(last)/*"].contains(contentRange),
            "Content-Range: bytes \(first)-\(last)/\(size)", got: "Content-Range: \(contentRange)")
        try expectHeader(response, "Content-Length", equals: "\(last - first + 1)")
        try expect(response.body == Array(bytes[first...last]), "bytes \(first)-\(last) of the blob", got: "\(response.body.count) other bytes")
    }
}
