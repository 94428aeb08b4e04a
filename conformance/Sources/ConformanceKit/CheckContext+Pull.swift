/// Helpers that read content back and verify it.
extension CheckContext {
    /// `GET` of a blob answers 200 with exactly `bytes`, `Content-Length` and a
    /// `Docker-Content-Digest` of them.
    func expectBlob(_ digest: String, equals bytes: [UInt8], in repository: String? = nil) async throws {
        let repository = repository ?? self.repository
        let response = try await send(.GET, "/v2/\(repository)/blobs/\(digest)")
        try expectStatus(response, 200, for: "GET of blob \(digest)")
        try expect(response.body == bytes, "the blob's \(bytes.count) bytes", got: "\(response.body.count) other bytes")
        try expectDigestHeader(response, of: bytes, for: "GET of blob \(digest)")
    }

    /// `HEAD` of a blob answers 200, no body, `Content-Length` of the blob and a digest header.
    func expectBlobHead(_ digest: String, of bytes: [UInt8], in repository: String? = nil) async throws {
        let repository = repository ?? self.repository
        let response = try await send(.HEAD, "/v2/\(repository)/blobs/\(digest)")
        try expectStatus(response, 200, for: "HEAD of blob \(digest)")
        try expectHeader(response, "Content-Length", equals: "\(bytes.count)")
        try expectDigestHeader(response, of: bytes, for: "HEAD of blob \(digest)")
        try expect(response.body.isEmpty, "no body on HEAD", got: "\(response.body.count) bytes")
    }

    /// `HEAD` and `GET` of a manifest by `reference` serve exactly `bytes` as `mediaType`, with
    /// `Content-Length` and a `Docker-Content-Digest` of the bytes (in any algorithm: the spec lets
    /// it differ from a requested digest's).
    func expectManifest(_ reference: String, equals bytes: [UInt8], mediaType: String, in repository: String? = nil) async throws {
        let repository = repository ?? self.repository
        let accept = [("Accept", Fixtures.ociManifest), ("Accept", Fixtures.ociIndex), ("Accept", mediaType)]
        let head = try await send(.HEAD, "/v2/\(repository)/manifests/\(reference)", headers: accept)
        try expectStatus(head, 200, for: "HEAD of manifest \(reference)")
        try expectHeader(head, "Content-Length", equals: "\(bytes.count)")
        try expectDigestHeader(head, of: bytes, for: "HEAD of manifest \(reference)")
        try expect(head.body.isEmpty, "no body on HEAD", got: "\(head.body.count) bytes")
        let get = try await send(.GET, "/v2/\(repository)/manifests/\(reference)", headers: accept)
        try expectStatus(get, 200, for: "GET of manifest \(reference)")
        try expect(get.body == bytes, "the pushed \(bytes.count) bytes of \(reference)", got: "\(get.body.count) other bytes")
        try expectHeader(get, "Content-Type", equals: mediaType)
        try expectDigestHeader(get, of: bytes, for: "GET of manifest \(reference)")
    }
}
