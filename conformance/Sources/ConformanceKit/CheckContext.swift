import Foundation
import NIOConcurrencyHelpers
import NIOHTTP1

/// What a check works with: the client, the repositories, content helpers and expectations.
struct CheckContext: Sendable {
    let client: ConformanceClient
    let configuration: ConformanceConfiguration
    let recorder: ExchangeRecorder
    let run: RunState

    var repository: String { configuration.repository }
    var mountSource: String { configuration.mountSourceRepository }

    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: ConformanceClient.Body = .none,
        additionalScopes: [String] = []
    ) async throws -> ConformanceClient.Response {
        try await client.send(method, path, headers: headers, body: body, additionalScopes: additionalScopes, recorder: recorder)
    }

    /// The token scope a mount from `source` needs besides the target's.
    func mountScopes(_ source: String) -> [String] { ["repository:\(source):pull"] }

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

    /// The response must carry the spec's error envelope with `code` among its errors.
    func expectErrorCode(_ response: ConformanceClient.Response, _ codes: String...) throws {
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

    /// Pushes a blob with `POST` then `PUT ?digest=` carrying the body (the form every
    /// registry supports) and records it for clean-up.
    @discardableResult
    func pushBlob(_ bytes: [UInt8], to repository: String? = nil, digest: String? = nil) async throws -> String {
        let repository = repository ?? self.repository
        let digest = digest ?? Digests.sha256(bytes)
        let start = try await send(.POST, "/v2/\(repository)/blobs/uploads/")
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
    func putManifest(_ bytes: [UInt8], mediaType: String, reference: String, in repository: String? = nil) async throws -> ConformanceClient.Response {
        let repository = repository ?? self.repository
        let response = try await send(.PUT, "/v2/\(repository)/manifests/\(reference)", headers: [("Content-Type", mediaType)], body: .bytes(bytes))
        if response.status == 201 { run.created(manifest: Digests.sha256(bytes), in: repository) }
        return response
    }

    /// Pushes a config and layers, then an image manifest for them under `tag`.
    func pushImage(tag: String, layers: [[UInt8]]? = nil, extra: [String: Any] = [:], in repository: String? = nil) async throws -> Fixtures.Image {
        let image = try Fixtures.image(layers: layers ?? [Digests.randomBytes(512)], extra: extra)
        try await pushBlob(image.config, to: repository)
        for layer in image.layers { try await pushBlob(layer, to: repository) }
        let response = try await putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: tag, in: repository)
        guard response.status == 201 else { throw CheckFailure("setup: pushing manifest \(tag) answered \(describe(response))") }
        return image
    }

    /// Adds a query parameter to an upload URL that may already have a query.
    static func appendingQuery(to location: String, _ parameter: String) -> String {
        location + (location.contains("?") ? "&" : "?") + parameter
    }
}

/// State shared by the checks of one run: a unique suffix for tags, and what to delete at the end.
final class RunState: Sendable {
    let id: String = String(UInt32.random(in: .min ... .max), radix: 36)
    private let manifests = NIOLockedValueBox<[(repository: String, digest: String)]>([])
    private let blobs = NIOLockedValueBox<[(repository: String, digest: String)]>([])

    /// A tag unique to this run.
    func tag(_ name: String) -> String { "\(name)-\(id)" }

    func created(manifest digest: String, in repository: String) {
        manifests.withLockedValue { $0.append((repository, digest)) }
    }

    func created(blob digest: String, in repository: String) {
        blobs.withLockedValue { $0.append((repository, digest)) }
    }

    var createdManifests: [(repository: String, digest: String)] { manifests.withLockedValue { $0 } }
    var createdBlobs: [(repository: String, digest: String)] { blobs.withLockedValue { $0 } }
}
