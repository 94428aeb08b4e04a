import Foundation

/// Helpers of the blob-push checks.
extension CheckContext {
    func location(_ response: ConformanceClient.Response) throws -> String {
        guard let location = response.header("Location") else {
            throw CheckFailure(expected: "a Location header", got: describe(response))
        }
        return location
    }

    /// Opens an upload session, failing unless the registry answers 202 with a `Location`.
    func openSession(in repository: String? = nil) async throws -> String {
        let start = try await startUpload(in: repository)
        try expectStatus(start, 202, for: "POST /blobs/uploads/")
        return try location(start)
    }

    func patch(_ location: String, _ bytes: [UInt8], from offset: Int) async throws -> ConformanceClient.Response {
        try await send(
            .PATCH, location,
            headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "\(offset)-\(offset + bytes.count - 1)")],
            body: .bytes(bytes))
    }

    /// `PUT <location>?digest=` closing a session, with the last chunk (and its range) if any.
    func close(_ location: String, digest: String, lastChunk: [UInt8]? = nil, from offset: Int? = nil) async throws -> ConformanceClient.Response {
        var headers: [(String, String)] = []
        var body = ConformanceClient.Body.none
        if let lastChunk {
            headers.append(("Content-Type", "application/octet-stream"))
            if let offset { headers.append(("Content-Range", "\(offset)-\(offset + lastChunk.count - 1)")) }
            body = .bytes(lastChunk)
        }
        return try await send(.PUT, Self.appendingQuery(to: location, "digest=\(digest)"), headers: headers, body: body)
    }

    /// Cancels a session the check no longer needs, ignoring the answer.
    func abandon(_ location: String) async {
        _ = try? await send(.DELETE, location)
    }

    /// `response` created blob `digest` in the repository: 201 with a `Location` that serves
    /// the blob and a `Docker-Content-Digest` of it, and the blob reads back as `bytes`.
    func expectBlobCreated(_ response: ConformanceClient.Response, digest: String, bytes: [UInt8], by what: String, in repository: String? = nil) async throws {
        let repository = repository ?? self.repository
        try expectStatus(response, 201, for: what)
        run.created(blob: digest, in: repository)
        let location = try location(response)
        try expectDigestHeader(response, of: bytes, for: what)
        let atLocation = try await send(.GET, location)
        try expectStatus(atLocation, 200, for: "GET of the Location \(location) the registry returned")
        try expect(atLocation.body == bytes, "the blob's \(bytes.count) bytes at \(location)", got: "\(atLocation.body.count) other bytes")
        try await expectBlob(digest, equals: bytes, in: repository)
    }

    /// Nothing was stored under any of `digests` (after a rejected upload).
    func expectNoBlobs(_ digests: [String], after what: String) async throws {
        for digest in digests {
            let head = try await send(.HEAD, "/v2/\(repository)/blobs/\(digest)")
            try expectStatus(head, 404, for: "HEAD \(digest) after \(what)")
        }
    }

    /// The chunk size to use for a session: 1 KiB, or the registry's `OCI-Chunk-Min-Length`
    /// if it announced a larger one in the `POST` response (capped at 16 MiB, to keep a run small).
    func chunkSize(announcedBy start: ConformanceClient.Response) throws -> Int {
        guard let announced = start.header("OCI-Chunk-Min-Length") else { return 1024 }
        guard let minimum = Int(announced.trimmingCharacters(in: .whitespaces)), minimum >= 0 else {
            throw CheckFailure(expected: "OCI-Chunk-Min-Length to be a byte count", got: announced)
        }
        return min(max(1024, minimum), 16 * 1024 * 1024)
    }
}
