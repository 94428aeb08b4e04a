import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client for one S3 bucket: objects, multipart uploads, listings and presigned URLs, signed
/// with SigV4. Bodies stream in both directions as `ByteBuffer`s; only XML documents and error
/// bodies (bounded) are read whole.
///
/// The calls live in extensions by topic (`+Objects`, `+Multipart`, `+Listing`, `+Presigning`);
/// this file holds the one path every request takes.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let requests: S3RequestFactory
    let http: HTTPClient
    /// Whether `shutdown()` must shut `http` down: true when the client made it.
    private let ownsHTTPClient: Bool

    /// XML answers are small (a 1,000-key listing is ~300 KiB); anything larger is not one.
    static let documentLimit = 16 << 20
    static let errorBodyLimit = 1 << 20

    /// - Parameter httpClient: a client to share; by default the S3 client makes its own from
    ///   the configuration's timeouts and CA file, and `shutdown()` ends it.
    public init(configuration: S3Configuration, httpClient: HTTPClient? = nil) throws {
        self.configuration = configuration
        requests = S3RequestFactory(
            location: try S3Location(configuration),
            signer: SigV4Signer(credentials: configuration.credentials, region: configuration.region))
        if let httpClient {
            http = httpClient
            ownsHTTPClient = false
        } else {
            http = try Self.makeHTTPClient(configuration)
            ownsHTTPClient = true
        }
    }

    /// Ends the HTTP client if this client made it. Call once, after the last request.
    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }

    private static func makeHTTPClient(_ configuration: S3Configuration) throws -> HTTPClient {
        var tls: TLSConfiguration?
        if let caFile = configuration.caCertificateFile {
            var custom = TLSConfiguration.makeClientConfiguration()
            custom.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(caFile))]
            tls = custom
        }
        var http = HTTPClient.Configuration(tlsConfiguration: tls)
        let timeouts = configuration.timeouts
        http.timeout = .init(connect: .init(timeouts.connect), read: .init(timeouts.idle), write: .init(timeouts.idle))
        // A redirect would need a new signature; S3 redirects only for a wrong region or
        // endpoint, which is a configuration error better reported than followed.
        http.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
    }

    // MARK: The request path

    /// Signs and sends `operation`; returns the response when its status is in `success`, and
    /// throws `S3Error` (with the parsed `<Error>` body) otherwise. The caller reads or drains
    /// the body.
    /// A transient failure (``S3RetryPolicy``) is tried again, signed anew, when the body can
    /// be sent again.
    func send(_ operation: S3Operation, success: Set<UInt> = [200]) async throws -> HTTPClientResponse {
        let policy = configuration.retries
        let attempts = operation.body.isReplayable ? policy.attempts : 1
        var attempt = 1
        while true {
            do {
                return try await sendOnce(operation, success: success)
            } catch where attempt < attempts && S3RetryPolicy.isTransient(error) {
                attempt += 1
                try await Task.sleep(for: policy.delay(before: attempt))
            }
        }
    }

    private func sendOnce(_ operation: S3Operation, success: Set<UInt>) async throws -> HTTPClientResponse {
        let request = requests.request(for: operation, at: Date())
        // A streamed body may take long to send: only the idle timeouts watch it.
        let deadline: NIODeadline = operation.body.isStreamed ? .distantFuture : .now() + .init(configuration.timeouts.response)
        let response = try await http.execute(request, deadline: deadline)
        if success.contains(response.status.code) { return response }
        let body = try? await response.body.collect(upTo: Self.errorBodyLimit)
        throw error(for: operation, response: response, body: body.map { Data($0.readableBytesView) })
    }

    /// Sends `operation` and returns its XML answer, whole. An `<Error>` document is thrown
    /// even with status 200: CopyObject and CompleteMultipartUpload report late failures so.
    func document(_ operation: S3Operation, success: Set<UInt> = [200]) async throws -> Data {
        let response = try await send(operation, success: success)
        let data = Data(try await response.body.collect(upTo: Self.documentLimit).readableBytesView)
        if S3ResponseParsing.error(data) != nil {
            throw error(for: operation, response: response, body: data)
        }
        return data
    }

    /// Sends `operation` and discards its body, keeping the connection reusable.
    func discardingBody(_ operation: S3Operation, success: Set<UInt> = [200]) async throws -> HTTPHeaders {
        let response = try await send(operation, success: success)
        for try await _ in response.body {}
        return response.headers
    }

    func error(for operation: S3Operation, response: HTTPClientResponse, body: Data?) -> S3Error {
        error(for: operation, status: response.status, headers: response.headers, body: body)
    }

    func error(for operation: S3Operation, status: HTTPResponseStatus, headers: HTTPHeaders, body: Data?) -> S3Error {
        let parsed = body.flatMap(S3ResponseParsing.error)
        return S3Error(
            operation: operation.name, key: operation.key, status: Int(status.code),
            code: parsed?.code, message: parsed?.message,
            requestID: parsed?.requestID ?? headers.first(name: "x-amz-request-id"))
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
