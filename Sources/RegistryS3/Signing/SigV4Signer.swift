import Crypto
import Foundation

/// AWS Signature Version 4 for S3: the `Authorization` header of a request, or the query of a
/// presigned URL. Pure: the caller supplies the time, and gets back what to add to the request.
public struct SigV4Signer: Sendable {
    /// `x-amz-content-sha256` for a body that is streamed and so not hashed in advance.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of no bytes.
    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let algorithm = "AWS4-HMAC-SHA256"

    public var credentials: S3Credentials
    public var region: String
    public var service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to add to a request so that it is signed: `x-amz-date`,
    /// `x-amz-content-sha256`, `x-amz-security-token` when there is a session token, and
    /// `Authorization`.
    ///
    /// - Parameters:
    ///   - path: the URI's path, already percent-encoded as it will be sent.
    ///   - query: the query's items, not encoded.
    ///   - headers: every header to sign, `Host` included. Names in any case.
    ///   - payloadSHA256: the body's SHA-256 (lower-case hex), or `unsignedPayload`.
    public func signatureHeaders(
        method: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        payloadSHA256: String,
        at instant: Date
    ) -> [(name: String, value: String)] {
        let timestamp = SigV4Timestamp(instant)
        var added: [(name: String, value: String)] = [
            ("x-amz-date", timestamp.dateTime),
            ("x-amz-content-sha256", payloadSHA256),
        ]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let canonical = CanonicalHeaders(headers + added)
        let request = canonicalRequest(
            method: method, path: path, query: S3PercentEncoding.canonicalQuery(query),
            headers: canonical, payloadSHA256: payloadSHA256)
        let signature = signature(of: stringToSign(canonicalRequest: request, at: timestamp), at: timestamp)
        added.append(("Authorization", "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(timestamp)),SignedHeaders=\(canonical.signedNames),Signature=\(signature)"))
        return added
    }

    /// The query of a presigned URL (encoded, `X-Amz-Signature` last), which lets whoever holds
    /// it make this one request until `expires` seconds after `instant`. Only `host` is signed,
    /// so the URL works from any client; the payload is `UNSIGNED-PAYLOAD`.
    public func presignedQuery(
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        host: String,
        expires: Int,
        at instant: Date
    ) -> String {
        let timestamp = SigV4Timestamp(instant)
        var items = query + [
            ("X-Amz-Algorithm", Self.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(timestamp))"),
            ("X-Amz-Date", timestamp.dateTime),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { items.append(("X-Amz-Security-Token", token)) }
        let canonicalQuery = S3PercentEncoding.canonicalQuery(items)
        let request = canonicalRequest(
            method: method, path: path, query: canonicalQuery,
            headers: CanonicalHeaders([("host", host)]), payloadSHA256: Self.unsignedPayload)
        let signature = signature(of: stringToSign(canonicalRequest: request, at: timestamp), at: timestamp)
        return canonicalQuery + "&X-Amz-Signature=" + signature
    }

    // MARK: The steps, visible to tests

    func canonicalRequest(method: String, path: String, query: String, headers: CanonicalHeaders, payloadSHA256: String) -> String {
        [method, path, query, headers.block, headers.signedNames, payloadSHA256].joined(separator: "\n")
    }

    func stringToSign(canonicalRequest: String, at timestamp: SigV4Timestamp) -> String {
        let digest = SHA256.hash(data: Data(canonicalRequest.utf8))
        return [Self.algorithm, timestamp.dateTime, scope(timestamp), Hex.encode(digest)].joined(separator: "\n")
    }

    func signature(of stringToSign: String, at timestamp: SigV4Timestamp) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(timestamp)))
    }

    /// HMAC chain: secret → date → region → service → `aws4_request`.
    func signingKey(_ timestamp: SigV4Timestamp) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [timestamp.date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    func scope(_ timestamp: SigV4Timestamp) -> String {
        "\(timestamp.date)/\(region)/\(service)/aws4_request"
    }
}

/// Headers in SigV4's canonical form: names in lower case and sorted, values trimmed with runs of
/// spaces collapsed, repeated names joined by commas.
struct CanonicalHeaders {
    let block: String
    let signedNames: String

    init(_ headers: [(name: String, value: String)]) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(Self.normalize(value))
        }
        let names = values.keys.sorted()
        block = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        signedNames = names.joined(separator: ";")
    }

    private static func normalize(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
    }
}

enum Hex {
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func encode(_ digest: SHA256.Digest) -> String { encode(Array(digest)) }
    static func encode(_ code: HashedAuthenticationCode<SHA256>) -> String { encode(Array(code)) }
}
