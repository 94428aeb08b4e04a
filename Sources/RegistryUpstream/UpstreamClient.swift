import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL
import RegistryModel

/// A distribution-spec client for one registry: manifests byte-exact, blobs streamed, and the
/// logins real registries ask for (Basic, or the Docker token flow: follow the `Bearer realm`
/// of a 401, fetch a token for the scope, keep it until it expires).
public final class UpstreamClient: Sendable {
    public let baseURL: String
    let credentials: UpstreamCredentials?
    let http: HTTPClient
    let tokens = TokenCache()

    /// Every manifest type the registry may hold, for `Accept`.
    public static let manifestTypes = [
        MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest,
    ]
    static let manifestLimit = 4 << 20

    /// The client every upstream shares unless given another. Connection attempts give up after
    /// 5 s: async-http-client retries a refused connection until the timeout, and an upstream
    /// that is down must be noticed quickly (a cache then serves what it has).
    public static let sharedHTTPClient = makeHTTPClient(tls: nil)

    /// A client that trusts the CA certificates in `caFile` (PEM) besides the system's, for a
    /// registry with a private CA; the shared client when nil. It lives as long as the process.
    public static func httpClient(trustingCertificatesIn caFile: String?) throws -> HTTPClient {
        guard let caFile else { return sharedHTTPClient }
        let certificates = try NIOSSLCertificate.fromPEMFile(caFile)
        // One client per file, kept for good: async-http-client clients must be shut down
        // before they go, and these serve until the process ends.
        return clientsByCAFile.withLockedValue { clients in
            if let client = clients[caFile] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.certificates(certificates)]
            let client = makeHTTPClient(tls: tls)
            clients[caFile] = client
            return client
        }
    }

    private static let clientsByCAFile = NIOLockedValueBox([String: HTTPClient]())

    private static func makeHTTPClient(tls: TLSConfiguration?) -> HTTPClient {
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public init(baseURL: String, credentials: UpstreamCredentials? = nil, http: HTTPClient = UpstreamClient.sharedHTTPClient) {
        self.baseURL = baseURL
        self.credentials = credentials
        self.http = http
    }

    // MARK: Reading

    /// All tags, following `Link` pages; empty for an unknown repository.
    public func tags(of repository: RepositoryName) async throws -> [String] {
        var tags: [String] = []
        var next: String? = "/v2/\(repository)/tags/list?n=1000"
        while let path = next {
            let response = try await send(.GET, path, scope: .pull(repository))
            if response.status == .notFound { return [] }
            try await Self.expect(response, [.ok], url: baseURL + path)
            let body = try await response.body.collect(upTo: 64 << 20)
            guard let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                throw UpstreamError.invalidResponse(url: baseURL + path, reason: "tags/list is not a JSON object")
            }
            tags += (object["tags"] as? [String]) ?? []
            next = Self.nextPage(response.headers.first(name: "link"))
        }
        return tags
    }

    /// A manifest's exact bytes, or nil when there is none. By digest, the bytes are checked
    /// against it.
    public func manifest(_ reference: Reference, in repository: RepositoryName) async throws -> FetchedManifest? {
        let path = "/v2/\(repository)/manifests/\(reference)"
        let response = try await send(.GET, path, scope: .pull(repository), headers: [("Accept", Self.manifestTypes.joined(separator: ", "))])
        if response.status == .notFound { return nil }
        try await Self.expect(response, [.ok], url: baseURL + path)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: Self.manifestLimit)
        } catch is NIOTooManyBytesError {
            throw UpstreamError.manifestTooLarge(url: baseURL + path)
        }
        let bytes = Array(body.readableBytesView)
        let digest: Digest
        if case .digest(let expected) = reference {
            digest = DigestHasher.digest(of: bytes, algorithm: expected.algorithm)
            guard digest == expected else { throw UpstreamError.digestMismatch(expected: expected, actual: digest) }
        } else {
            digest = DigestHasher.digest(of: bytes)
        }
        let mediaType = response.headers.first(name: "content-type").map { MediaType.essence(of: $0) }
        return FetchedManifest(bytes: bytes, digest: digest, mediaType: mediaType)
    }

    /// The digest a tag points at (`HEAD`), or nil when the tag does not exist.
    public func manifestDigest(_ tag: Tag, in repository: RepositoryName) async throws -> Digest? {
        let path = "/v2/\(repository)/manifests/\(tag.value)"
        let response = try await send(.HEAD, path, scope: .pull(repository), headers: [("Accept", Self.manifestTypes.joined(separator: ", "))])
        if response.status == .notFound { return nil }
        try await Self.expect(response, [.ok], url: baseURL + path)
        guard let header = response.headers.first(name: "docker-content-digest"), let digest = try? Digest(parsing: header) else {
            throw UpstreamError.invalidResponse(url: baseURL + path, reason: "HEAD gave no Docker-Content-Digest")
        }
        return digest
    }

    public func hasManifest(_ digest: Digest, in repository: RepositoryName) async throws -> Bool {
        try await exists("/v2/\(repository)/manifests/\(digest)", scope: .pull(repository))
    }

    public func hasBlob(_ digest: Digest, in repository: RepositoryName) async throws -> Bool {
        try await exists("/v2/\(repository)/blobs/\(digest)", scope: .pull(repository))
    }

    /// A blob's size (`HEAD`), or nil when the repository has no such blob.
    public func blobSize(_ digest: Digest, in repository: RepositoryName) async throws -> Int64? {
        let path = "/v2/\(repository)/blobs/\(digest)"
        let response = try await send(.HEAD, path, scope: .pull(repository))
        if response.status == .notFound { return nil }
        try await Self.expect(response, [.ok], url: baseURL + path)
        guard let length = response.headers.first(name: "content-length").flatMap({ Int64($0) }) else {
            throw UpstreamError.invalidResponse(url: baseURL + path, reason: "HEAD gave no Content-Length")
        }
        return length
    }

    /// Starts downloading a blob, or nil when the repository has none; the caller reads (and
    /// verifies) the body.
    public func blob(_ digest: Digest, in repository: RepositoryName) async throws -> HTTPClientResponse? {
        let path = "/v2/\(repository)/blobs/\(digest)"
        let response = try await send(.GET, path, scope: .pull(repository))
        if response.status == .notFound {
            _ = try? await response.body.collect(upTo: 1 << 20)
            return nil
        }
        try await Self.expect(response, [.ok], url: baseURL + path)
        return response
    }

    /// The body of a `GET` of one of this program's own endpoints beyond the distribution API
    /// (such as `/v2/_layers/DIGEST`), sent with the login that pulling `repository` takes; nil
    /// when the registry answers anything but 200 (another registry has no such endpoint).
    public func extensionDocument(_ path: String, pulling repository: RepositoryName, limit: Int = 8 << 20) async throws -> [UInt8]? {
        let response = try await send(.GET, path, scope: .pull(repository), headers: [("Accept", "application/json")])
        guard response.status == .ok else {
            _ = try? await response.body.collect(upTo: 1 << 20)
            return nil
        }
        return Array(try await response.body.collect(upTo: limit).readableBytesView)
    }

    // MARK: Writing

    /// Mounts a blob from another repository of this registry; false when the registry would
    /// rather have it uploaded (the session it opened is cancelled).
    public func mountBlob(_ digest: Digest, from source: RepositoryName, into repository: RepositoryName) async throws -> Bool {
        let path = "/v2/\(repository)/blobs/uploads/?mount=\(digest)&from=\(source)"
        let response = try await send(.POST, path, scope: .push(repository, mountingFrom: source))
        if response.status == .created { return true }
        try await Self.expect(response, [.accepted], url: baseURL + path)
        if let location = response.headers.first(name: "location") {
            _ = try? await send(.DELETE, location, scope: .push(repository))
        }
        return false
    }

    /// Uploads a blob: `POST` for a session, then one `PUT` streaming `body` (`length` bytes).
    public func pushBlob<Body: AsyncSequence & Sendable>(
        _ digest: Digest, length: Int64, body: Body, into repository: RepositoryName
    ) async throws where Body.Element == ByteBuffer {
        let start = "/v2/\(repository)/blobs/uploads/"
        let session = try await send(.POST, start, scope: .push(repository))
        try await Self.expect(session, [.accepted], url: baseURL + start)
        guard let location = session.headers.first(name: "location") else {
            throw UpstreamError.invalidResponse(url: baseURL + start, reason: "upload session without Location")
        }
        let target = location + (location.contains("?") ? "&" : "?") + "digest=\(digest)"
        let put = try await send(
            .PUT, target, scope: .push(repository), headers: [("Content-Type", "application/octet-stream")],
            body: .stream(body, length: .known(length)))
        try await Self.expect(put, [.created], url: url(for: target))
    }

    public func putManifest(_ bytes: [UInt8], mediaType: String, as reference: Reference, in repository: RepositoryName) async throws {
        let path = "/v2/\(repository)/manifests/\(reference)"
        let response = try await send(
            .PUT, path, scope: .push(repository), headers: [("Content-Type", mediaType)], body: .bytes(ByteBuffer(bytes: bytes)))
        try await Self.expect(response, [.created], url: baseURL + path)
    }

    // MARK: Requests and logins

    private func exists(_ path: String, scope: TokenScope) async throws -> Bool {
        let response = try await send(.HEAD, path, scope: scope)
        if response.status == .notFound { return false }
        try await Self.expect(response, [.ok], url: baseURL + path)
        return true
    }

    func url(for path: String) -> String {
        path.hasPrefix("http://") || path.hasPrefix("https://") ? path : baseURL + path
    }

    /// Sends a request with the login the registry wants, learning it from the first 401. A
    /// streamed body cannot be sent twice, so its scope's login is settled by an earlier request
    /// (the upload's `POST`).
    func send(
        _ method: HTTPMethod, _ path: String, scope: TokenScope, headers: [(String, String)] = [],
        body: HTTPClientRequest.Body? = nil
    ) async throws -> HTTPClientResponse {
        func attempt(_ authorization: String?) async throws -> HTTPClientResponse {
            var request = HTTPClientRequest(url: url(for: path))
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            request.body = body
            return try await http.execute(request, timeout: .seconds(300))
        }
        let known = await tokens.authorization(for: scope.value)
        let response = try await attempt(known ?? credentials?.basicAuthorization)
        guard response.status == .unauthorized,
              let header = response.headers.first(name: "www-authenticate"),
              let challenge = AuthenticationChallenge(header: header)
        else { return response }
        _ = try? await response.body.collect(upTo: 1 << 20)
        switch challenge.scheme {
        case "bearer":
            let authorization = try await fetchToken(challenge, scope: scope)
            return try await attempt(authorization)
        case "basic" where credentials != nil && known != nil:
            return try await attempt(credentials?.basicAuthorization)
        default:
            throw UpstreamError.unauthorized(url: url(for: path), reason: credentials == nil ? "no credentials given" : "credentials refused")
        }
    }

    /// Gets a token from the challenge's realm for `scope` (Basic credentials if any) and caches it.
    private func fetchToken(_ challenge: AuthenticationChallenge, scope: TokenScope) async throws -> String {
        guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) else {
            throw UpstreamError.unauthorized(url: baseURL, reason: "Bearer challenge without a realm")
        }
        var query = components.queryItems ?? []
        if let service = challenge.parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: scope.value))
        components.queryItems = query
        guard let tokenURL = components.string else { throw UpstreamError.unauthorized(url: realm, reason: "unusable realm") }
        var request = HTTPClientRequest(url: tokenURL)
        if let basic = credentials?.basicAuthorization { request.headers.add(name: "Authorization", value: basic) }
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw UpstreamError.unauthorized(url: realm, reason: "token endpoint answered \(response.status.code)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let token = (object["token"] as? String) ?? (object["access_token"] as? String)
        else { throw UpstreamError.unauthorized(url: realm, reason: "token response without a token") }
        let lifetime = (object["expires_in"] as? Int) ?? 60
        let authorization = "Bearer \(token)"
        await tokens.store(authorization, for: scope.value, lifetime: .seconds(max(lifetime, 10)))
        return authorization
    }

    private static func expect(_ response: HTTPClientResponse, _ statuses: [HTTPResponseStatus], url: String) async throws {
        guard !statuses.contains(response.status) else { return }
        let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
        var code: String?
        var message = String(buffer: body).prefix(300).description
        if let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
           let first = (object["errors"] as? [[String: Any]])?.first {
            code = first["code"] as? String
            message = (first["message"] as? String) ?? ""
        }
        if response.status == .unauthorized || response.status == .forbidden {
            throw UpstreamError.unauthorized(url: url, reason: "\(response.status.code) \(code ?? "") \(message)")
        }
        throw UpstreamError.status(Int(response.status.code), url: url, code: code, message: message)
    }

    /// The target of `Link: </v2/...>; rel="next"`.
    static func nextPage(_ link: String?) -> String? {
        guard let link, link.contains("rel=\"next\""), let open = link.firstIndex(of: "<"), let close = link.firstIndex(of: ">"),
              open < close
        else { return nil }
        return String(link[link.index(after: open)..<close])
    }
}

/// A manifest as another registry served it.
public struct FetchedManifest: Sendable {
    public var bytes: [UInt8]
    public var digest: Digest
    /// The `Content-Type` it was served with, if any.
    public var mediaType: String?

    /// The parsed manifest (the media type from the header, else the body's `mediaType`).
    public func parsed() throws -> Manifest {
        try Manifest(parsing: bytes, contentType: mediaType)
    }
}

/// User name and password for another registry (Basic, and the token endpoint of the token flow).
public struct UpstreamCredentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// The token scope a request needs.
struct TokenScope {
    let value: String

    static func pull(_ repository: RepositoryName) -> TokenScope {
        TokenScope(value: "repository:\(repository):pull")
    }

    static func push(_ repository: RepositoryName, mountingFrom source: RepositoryName? = nil) -> TokenScope {
        TokenScope(value: "repository:\(repository):pull,push" + (source.map { " repository:\($0):pull" } ?? ""))
    }
}

/// Tokens per scope until they expire.
actor TokenCache {
    private var tokens: [String: (authorization: String, expires: ContinuousClock.Instant)] = [:]

    func authorization(for scope: String) -> String? {
        guard let entry = tokens[scope] else { return nil }
        // A token about to expire is not worth a request that would fail with it.
        guard entry.expires > .now + .seconds(5) else {
            tokens[scope] = nil
            return nil
        }
        return entry.authorization
    }

    func store(_ authorization: String, for scope: String, lifetime: Duration) {
        tokens[scope] = (authorization, .now + lifetime)
    }
}
