import RegistryTestSupport
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RegistryModel

/// A small distribution-spec client over async-http-client, for tests.
struct RegistryClient: Sendable {
    let registry: TestRegistry
    var http: HTTPClient = .shared
    /// Sent with every request that carries no `Authorization` of its own.
    var authorization: String?

    struct Reply: Sendable {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: ByteBuffer
        var version: HTTPVersion = .http1_1

        var text: String { String(buffer: body) }
        var bytes: [UInt8] { Array(body.readableBytesView) }
        func header(_ name: String) -> String? { headers.first(name: name) }

        /// The `code` of the first error in an OCI error body.
        var errorCode: String? {
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
                  let errors = object["errors"] as? [[String: Any]] else { return nil }
            return errors.first?["code"] as? String
        }

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw TestFailure("body is not a JSON object: \(text)")
            }
            return object
        }
    }

    func request(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : registry.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        return try await execute(request)
    }

    /// Sends `chunks` as a body of unknown length (`Transfer-Encoding: chunked`), as docker does.
    func streamingRequest(_ method: HTTPMethod, _ path: String, chunks: [[UInt8]], headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : registry.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let stream = AsyncStream<ByteBuffer> { continuation in
            for chunk in chunks { continuation.yield(ByteBuffer(bytes: chunk)) }
            continuation.finish()
        }
        request.body = .stream(stream, length: .unknown)
        return try await execute(request)
    }

    /// For idempotent requests in tests that use a very short server idle timeout: a pooled
    /// connection may be closed by the server just as it is reused, and clients retry then.
    func requestRetryingOnce(_ method: HTTPMethod, _ path: String) async throws -> Reply {
        do {
            return try await request(method, path)
        } catch {
            return try await request(method, path)
        }
    }

    func execute(_ request: HTTPClientRequest) async throws -> Reply {
        var request = request
        if let authorization, !request.headers.contains(name: "authorization") {
            request.headers.add(name: "Authorization", value: authorization)
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: response.status, headers: response.headers, body: body, version: response.version)
    }

    // MARK: Conveniences

    static func digest(_ bytes: [UInt8]) -> Digest { DigestHasher.digest(of: bytes) }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var words = (0..<(count + 7) / 8).map { _ in generator.next() as UInt64 }
        return words.withUnsafeMutableBytes { Array($0.prefix(count)) }
    }

    /// Pushes a blob with a single `POST ?digest=` and checks it was created.
    @discardableResult
    func pushBlob(_ bytes: [UInt8], to repository: String) async throws -> Digest {
        let digest = Self.digest(bytes)
        let reply = try await request(.POST, "/v2/\(repository)/blobs/uploads/?digest=\(digest)", body: bytes)
        guard reply.status == .created else { throw TestFailure("blob push failed: \(reply.status) \(reply.text)") }
        return digest
    }

    /// Pushes a config and one layer, then an image manifest referencing them; returns the
    /// manifest bytes and digest.
    @discardableResult
    func pushImage(
        to repository: String, tag: String, layers: [[UInt8]]? = nil,
        mediaType: String = MediaType.ociManifest, extraFields: [String: Any] = [:]
    ) async throws -> (manifest: [UInt8], digest: Digest) {
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let configDigest = try await pushBlob(config, to: repository)
        var layerDescriptors: [[String: Any]] = []
        for layer in layers ?? [Self.randomBytes(256)] {
            let digest = try await pushBlob(layer, to: repository)
            layerDescriptors.append(["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest.description, "size": layer.count])
        }
        var object: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": mediaType,
            "config": ["mediaType": mediaType == MediaType.dockerManifest ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json", "digest": configDigest.description, "size": config.count],
            "layers": layerDescriptors,
        ]
        object.merge(extraFields) { $1 }
        let manifest = try Self.json(object)
        let reply = try await request(.PUT, "/v2/\(repository)/manifests/\(tag)", headers: [("Content-Type", mediaType)], body: manifest)
        guard reply.status == .created else { throw TestFailure("manifest push failed: \(reply.status) \(reply.text)") }
        return (manifest, Self.digest(manifest))
    }

    /// An OCI image manifest with the given config and no layers.
    static func emptyImageManifest(config: Digest, size: Int) throws -> [UInt8] {
        try json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.description, "size": size],
            "layers": [] as [Any],
        ])
    }

    static func json(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
