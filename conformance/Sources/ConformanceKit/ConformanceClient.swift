import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// The checker's HTTP client: sends requests to the registry under test, answers its
/// authentication challenges (Basic, or the Docker token flow for Bearer), and records every
/// exchange for the report.
final class ConformanceClient: Sendable {
    enum Body: Sendable {
        case none
        case bytes([UInt8])
        /// Sent with `Transfer-Encoding: chunked` (length unknown), as docker streams layers.
        case stream([[UInt8]])
    }

    struct Response: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
        /// The URL that answered, when the registry redirected the request (a blob download sent
        /// to its storage, which the spec allows): the headers are then the storage's.
        var redirectedTo: String? = nil

        func header(_ name: String) -> String? { headers.first(name: name) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    private let configuration: ConformanceConfiguration
    private let http: HTTPClient
    /// Bearer tokens by scope, or the Basic header once a Basic challenge was seen.
    private let authorizations = NIOLockedValueBox<[String: String]>([:])

    init(configuration: ConformanceConfiguration, http: HTTPClient = .shared) {
        self.configuration = configuration
        self.http = http
    }

    func url(_ path: String) -> String {
        path.hasPrefix("http://") || path.hasPrefix("https://") ? path : configuration.baseURL + path
    }

    /// - Parameter additionalScopes: token scopes to ask for beside the challenge's (a mount
    ///   also needs `pull` on its source repository, as docker asks).
    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: Body = .none,
        additionalScopes: [String] = [], recorder: ExchangeRecorder
    ) async throws -> Response {
        let target = url(path)
        var authorization = initialAuthorization(for: target)
        for attempt in 0..<2 {
            let response = try await perform(method, target, headers: headers, body: body, authorization: authorization, recorder: recorder)
            guard response.status == 401, attempt == 0,
                  let challenge = response.header("WWW-Authenticate"),
                  let answer = try await answer(challenge, additionalScopes: additionalScopes, recorder: recorder)
            else { return response }
            authorization = answer
        }
        preconditionFailure("unreachable")
    }

    private func initialAuthorization(for url: String) -> String? {
        if case .bearer(let token)? = configuration.credentials { return "Bearer \(token)" }
        return authorizations.withLockedValue { $0["basic"] }
    }

    /// Builds the `Authorization` value that answers a `WWW-Authenticate` challenge.
    private func answer(_ challenge: String, additionalScopes: [String], recorder: ExchangeRecorder) async throws -> String? {
        let lowered = challenge.lowercased()
        if lowered.hasPrefix("basic") {
            guard case .basic(let username, let password)? = configuration.credentials else { return nil }
            let value = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
            authorizations.withLockedValue { $0["basic"] = value }
            return value
        }
        guard lowered.hasPrefix("bearer") else { return nil }
        let parameters = Self.challengeParameters(String(challenge.dropFirst("bearer".count)))
        guard let realm = parameters["realm"] else { return nil }
        let scope = ([parameters["scope"]].compactMap { $0 } + additionalScopes).joined(separator: " ")
        if let cached = authorizations.withLockedValue({ $0["bearer " + scope] }) { return cached }
        var components = URLComponents(string: realm)
        var query = components?.queryItems ?? []
        if let service = parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
        for item in scope.split(separator: " ") { query.append(URLQueryItem(name: "scope", value: String(item))) }
        components?.queryItems = query
        guard let tokenURL = components?.string else { return nil }
        var basic: String?
        if case .basic(let username, let password)? = configuration.credentials {
            basic = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        }
        let response = try await perform(.GET, tokenURL, headers: [], body: .none, authorization: basic, recorder: recorder)
        guard response.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let token = (object["token"] ?? object["access_token"]) as? String
        else { return nil }
        let value = "Bearer \(token)"
        authorizations.withLockedValue { $0["bearer " + scope] = value }
        return value
    }

    /// Parses `key="value",key=value` challenge parameters.
    static func challengeParameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var remainder = Substring(text)
        while !remainder.isEmpty {
            remainder = remainder.drop { $0 == " " || $0 == "," }
            guard let equals = remainder.firstIndex(of: "=") else { break }
            let key = remainder[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            remainder = remainder[remainder.index(after: equals)...]
            let value: Substring
            if remainder.first == "\"" {
                remainder = remainder.dropFirst()
                let end = remainder.firstIndex(of: "\"") ?? remainder.endIndex
                value = remainder[..<end]
                remainder = end < remainder.endIndex ? remainder[remainder.index(after: end)...] : ""
            } else {
                let end = remainder.firstIndex(of: ",") ?? remainder.endIndex
                value = remainder[..<end]
                remainder = remainder[end...]
            }
            result[key] = String(value)
        }
        return result
    }

    private func perform(
        _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: Body, authorization: String?,
        recorder: ExchangeRecorder
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let authorization { request.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        var requestPreview: [UInt8] = []
        var requestLength: Int?
        switch body {
        case .none:
            break
        case .bytes(let bytes):
            request.body = .bytes(ByteBuffer(bytes: bytes))
            requestPreview = Array(bytes.prefix(Exchange.bodyPreviewBytes))
            requestLength = bytes.count
        case .stream(let chunks):
            let stream = AsyncStream<ByteBuffer> { continuation in
                for chunk in chunks { continuation.yield(ByteBuffer(bytes: chunk)) }
                continuation.finish()
            }
            request.body = .stream(stream, length: .unknown)
            requestPreview = Array(chunks.joined().prefix(Exchange.bodyPreviewBytes))
            requestLength = chunks.reduce(0) { $0 + $1.count }
        }
        var exchange = Exchange(
            method: method.rawValue, url: url, requestHeaders: Exchange.redacted(request.headers.map { ($0.name, $0.value) }),
            requestBodyPreview: requestPreview, requestBodyLength: requestLength, status: nil, responseHeaders: [],
            responseBodyPreview: [], responseBodyLength: 0, error: nil)
        do {
            let response = try await http.execute(request, timeout: .seconds(120))
            let collected = try await response.body.collect(upTo: 256 * 1024 * 1024)
            let bytes = Array(collected.readableBytesView)
            exchange.status = Int(response.status.code)
            exchange.responseHeaders = response.headers.map { ($0.name, $0.value) }
            exchange.responseBodyPreview = Array(bytes.prefix(Exchange.bodyPreviewBytes))
            exchange.responseBodyLength = bytes.count
            recorder.record(exchange)
            let redirectedTo = response.history.count > 1 ? response.url?.absoluteString : nil
            return Response(status: Int(response.status.code), headers: response.headers, body: bytes, redirectedTo: redirectedTo)
        } catch {
            exchange.error = "\(error)"
            recorder.record(exchange)
            throw error
        }
    }
}

/// Collects the exchanges of one check.
final class ExchangeRecorder: Sendable {
    private let exchanges = NIOLockedValueBox<[Exchange]>([])

    func record(_ exchange: Exchange) {
        exchanges.withLockedValue { $0.append(exchange) }
    }

    var all: [Exchange] { exchanges.withLockedValue { $0 } }
}
