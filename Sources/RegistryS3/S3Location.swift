import Foundation

/// Where a key's requests go: the connection's scheme, host and port, the `Host` header and the
/// encoded path, for the configured addressing style and key prefix.
struct S3Location: Sendable {
    let scheme: String
    let host: String
    let port: Int?
    let bucket: String
    let keyPrefix: String
    let addressing: S3Addressing

    init(_ configuration: S3Configuration) throws {
        guard let url = URL(string: configuration.endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else {
            throw S3ClientError.invalidConfiguration("endpoint \(configuration.endpoint) is not http(s)://host[:port]")
        }
        guard url.path.isEmpty || url.path == "/", url.query == nil else {
            throw S3ClientError.invalidConfiguration("endpoint \(configuration.endpoint) must have no path or query")
        }
        guard configuration.bucket.count >= 3, !configuration.bucket.contains("/") else {
            throw S3ClientError.invalidConfiguration("bucket name \"\(configuration.bucket)\" is invalid")
        }
        guard !configuration.region.isEmpty else { throw S3ClientError.invalidConfiguration("region is empty") }
        self.scheme = scheme
        self.host = host
        self.port = url.port
        bucket = configuration.bucket
        keyPrefix = configuration.keyPrefix
        addressing = configuration.addressing
    }

    /// The `Host` header: the port only when it is not the scheme's default, as HTTP clients
    /// send it.
    var hostHeader: String {
        let name = addressing == .virtualHost ? "\(bucket).\(host)" : host
        guard let port, port != (scheme == "https" ? 443 : 80) else { return name }
        return "\(name):\(port)"
    }

    /// The bucket's key for a key of the client's caller.
    func fullKey(_ key: String) -> String { keyPrefix + key }

    /// The encoded path of a key, or of the bucket itself when `key` is nil.
    func path(forKey key: String?) -> String {
        let encodedKey = key.map { S3PercentEncoding.encode(fullKey($0), keepingSlashes: true) } ?? ""
        switch addressing {
        case .pathStyle: return key == nil ? "/\(bucket)" : "/\(bucket)/\(encodedKey)"
        case .virtualHost: return "/\(encodedKey)"
        }
    }

    /// `scheme://host[:port]path[?query]`, the query already canonical.
    func url(path: String, query: String) -> String {
        "\(scheme)://\(hostHeader)\(path)\(query.isEmpty ? "" : "?" + query)"
    }

    /// `x-amz-copy-source` for a key of this bucket: `/bucket/encoded-key`.
    func copySource(forKey key: String) -> String {
        "/\(bucket)/\(S3PercentEncoding.encode(fullKey(key), keepingSlashes: true))"
    }
}
