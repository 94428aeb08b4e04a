import Foundation
import NIOHTTP1

/// What a check works with: the client, the repositories, the digest algorithm of its content,
/// content helpers and expectations.
struct CheckContext: Sendable {
    let client: ConformanceClient
    let configuration: ConformanceConfiguration
    let recorder: ExchangeRecorder
    let run: RunState
    /// The algorithm of the content the check pushes (its feature's, else sha256).
    let algorithm: DigestAlgorithm

    var repository: String { configuration.repository }
    var mountSource: String { configuration.mountSourceRepository }
    var spec: SpecVersion { configuration.spec }

    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ConformanceClient.Body = .none,
        additionalScopes: [String] = []
    ) async throws -> ConformanceClient.Response {
        try await client.send(method, path, headers: headers, body: body, additionalScopes: additionalScopes, recorder: recorder)
    }

    /// The token scope a mount from `source` needs besides the target's.
    func mountScopes(_ source: String) -> [String] { ["repository:\(source):pull"] }

    /// `bytes`' digest in the check's algorithm.
    func digest(_ bytes: [UInt8]) -> String { algorithm.digest(bytes) }

    // MARK: Expectations

    func expectStatus(_ response: ConformanceClient.Response, _ allowed: Int..., for what: String) throws {
        guard allowed.contains(response.status) else {
            throw CheckFailure(expected: "\(what) to answer \(allowed.map(String.init).joined(separator: " or "))", got: describe(response))
        }
    }

    func expectHeader(_ response: ConformanceClient.Response, _ name: String, equals expected: String? = nil) throws {
        guard let value = response.header(name) else {
            throw CheckFailure(expected: "a \(name) header", got: "none (status \(response.status))")
        }
        if let expected, value != expected {
            throw CheckFailure(expected: "\(name): \(expected)", got: "\(name): \(value)")
        }
    }

    /// `Docker-Content-Digest` must be present and be a digest of `bytes` (the body a GET
    /// returned, or the content a HEAD describes). Its algorithm may differ from the one the
    /// content was pushed with (the spec lets a registry answer with its canonical one).
    /// The `Content-Range: bytes */size` of a 416, unless a storage the download was redirected
    /// to answered (object stores leave it out).
    func expectUnsatisfiableRange(_ response: ConformanceClient.Response, size: Int) throws {
        guard response.redirectedTo == nil || response.header("Content-Range") != nil else { return }
        try expectHeader(response, "Content-Range", equals: "bytes */\(size)")
    }

    func expectDigestHeader(_ response: ConformanceClient.Response, of bytes: [UInt8], for what: String) throws {
        // A download redirected to storage carries the storage's headers, not the registry's.
        if response.redirectedTo != nil, response.header("Docker-Content-Digest") == nil { return }
        guard let value = response.header("Docker-Content-Digest") else {
            throw CheckFailure(expected: "a Docker-Content-Digest header on \(what)", got: "none (status \(response.status))")
        }
        guard let algorithm = DigestAlgorithm(of: value) else {
            throw CheckFailure(expected: "Docker-Content-Digest on \(what) in sha256 or sha512", got: value)
        }
        let expected = algorithm.digest(bytes)
        if value != expected {
            throw CheckFailure(expected: "Docker-Content-Digest: \(expected) on \(what)", got: value)
        }
    }

    /// The response must carry the spec's error envelope with `code` among its errors.
    func expectErrorCode(_ response: ConformanceClient.Response, _ codes: String...) throws {
        try expectErrorCode(response, in: codes)
    }

    func expectErrorCode(_ response: ConformanceClient.Response, in codes: [String]) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let errors = object["errors"] as? [[String: Any]], !errors.isEmpty
        else {
            throw CheckFailure(expected: "an error body {\"errors\":[...]} with code \(codes.joined(separator: " or "))", got: describe(response))
        }
        let found = errors.compactMap { $0["code"] as? String }
        guard found.contains(where: codes.contains) else {
            throw CheckFailure(expected: "error code \(codes.joined(separator: " or "))", got: found.joined(separator: ", "))
        }
        for error in errors where error["message"] != nil && !(error["message"] is String) {
            throw CheckFailure(expected: "error messages to be strings", got: "\(error)")
        }
    }

    func expect(_ condition: Bool, _ expected: @autoclosure () -> String, got: @autoclosure () -> String) throws {
        if !condition { throw CheckFailure(expected: expected(), got: got()) }
    }

    func describe(_ response: ConformanceClient.Response) -> String {
        let body = response.text.prefix(200)
        return "\(response.status)" + (body.isEmpty ? "" : " \(body)")
    }

    /// Skips the check when the registry reports the operation unsupported (deletes disabled).
    func skipIfUnsupported(_ response: ConformanceClient.Response, _ feature: String) throws {
        if response.status == 405 || (response.status == 400 && response.text.contains("UNSUPPORTED")) {
            throw CheckSkipped("\(feature) not supported: the registry answered \(describe(response))")
        }
    }

    // MARK: Content

    /// Opens an upload session. Content digested by another algorithm than sha256 announces it
    /// with `?digest-algorithm=` when checking the main-branch spec (end-4c), which added it.
    func startUpload(in repository: String? = nil, query: [String] = []) async throws -> ConformanceClient.Response {
        var query = query
        if algorithm != .sha256 && spec >= .dev { query.insert("digest-algorithm=\(algorithm.rawValue)", at: 0) }
        let path = "/v2/\(repository ?? self.repository)/blobs/uploads/" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        return try await send(.POST, path, headers: [("Content-Length", "0")])
    }

    /// Pushes a blob with `POST` then `PUT ?digest=` carrying the body (the form every
    /// registry supports) and records it for clean-up.
    @discardableResult
    func pushBlob(_ bytes: [UInt8], to repository: String? = nil) async throws -> String {
        let repository = repository ?? self.repository
        let digest = digest(bytes)
        let start = try await startUpload(in: repository)
        guard start.status == 202, let location = start.header("Location") else {
            throw CheckFailure("setup: starting an upload in \(repository) answered \(describe(start))")
        }
        let put = try await send(
            .PUT, Self.appendingQuery(to: location, "digest=\(digest)"),
            headers: [("Content-Type", "application/octet-stream")], body: .bytes(bytes))
        guard put.status == 201 else { throw CheckFailure("setup: pushing blob \(digest) answered \(describe(put))") }
        run.created(blob: digest, in: repository)
        return digest
    }

    /// Pushes a manifest; the caller checks the response.
    func putManifest(_ bytes: [UInt8], mediaType: String, reference: String, in repository: String? = nil, query: String = "") async throws -> ConformanceClient.Response {
        let repository = repository ?? self.repository
        let response = try await send(
            .PUT, "/v2/\(repository)/manifests/\(reference)" + query, headers: [("Content-Type", mediaType)], body: .bytes(bytes))
        if response.status == 201 {
            run.created(manifest: Digests.sha256(bytes), in: repository)
            if reference.contains(":") { run.created(manifest: reference, in: repository) }
        }
        return response
    }

    /// Pushes a manifest that the check needs as setup, failing with the registry's answer.
    /// Content of another algorithm than sha256 is pushed by that digest first, so that the
    /// registry knows it by it, then tagged.
    func pushManifest(_ bytes: [UInt8], mediaType: String, tag: String? = nil, in repository: String? = nil) async throws {
        var references: [String] = []
        if algorithm != .sha256 || tag == nil { references.append(digest(bytes)) }
        if let tag { references.append(tag) }
        for reference in references {
            let response = try await putManifest(bytes, mediaType: mediaType, reference: reference, in: repository)
            guard response.status == 201 else { throw CheckFailure("setup: pushing manifest \(reference) answered \(describe(response))") }
        }
    }

    /// Pushes a config and layers, then an image manifest for them under `tag`.
    @discardableResult
    func pushImage(tag: String? = nil, layers: [[UInt8]]? = nil, extra: [String: Any] = [:], in repository: String? = nil) async throws -> Fixtures.Image {
        let image = try Fixtures.image(layers: layers ?? [Digests.randomBytes(512)], extra: extra, algorithm: algorithm)
        for blob in image.blobs { try await pushBlob(blob, to: repository) }
        try await pushManifest(image.manifest, mediaType: Fixtures.ociManifest, tag: tag, in: repository)
        return image
    }

    /// Resolves a `Location` or `Link` target against the registry (it may be relative).
    func absolute(_ location: String) -> String {
        client.url(location)
    }

    /// Adds a query parameter to an upload URL that may already have a query.
    static func appendingQuery(to location: String, _ parameter: String) -> String {
        location + (location.contains("?") ? "&" : "?") + parameter
    }
}
