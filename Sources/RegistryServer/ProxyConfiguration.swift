import Foundation
import Logging
import RegistryCore
import RegistryStorage
import RegistryModel
import RegistryUpstream
import Yams

/// One upstream of the pull-through cache, as configured.
public struct ProxyConfiguration: Sendable, Equatable {
    /// Local path prefix the upstream is served under.
    public var name: String
    /// `http(s)://host[:port]`.
    public var url: String
    public var username: String?
    public var password: String?
    /// Overrides `proxy.revalidate` for this upstream.
    public var revalidate: Duration?
    /// Also serve the upstream at the registry's root (docker's `registry-mirrors`).
    public var servesRoot = false
    /// `alpine` -> `library/alpine`; nil decides by the host (Docker Hub's).
    public var libraryNamespace: Bool?
    /// Extra host names containerd may give in `?ns=`.
    public var hosts: [String] = []
    /// PEM CA certificates to trust for the upstream's TLS certificate (a private CA).
    public var ca: String?

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    /// `NAME=URL`, the `--proxy` flag's form.
    static func parse(flag: String) throws(ConfigurationError) -> ProxyConfiguration {
        guard let equals = flag.firstIndex(of: "=") else {
            throw .invalidValue(key: "--proxy", value: flag, expected: "NAME=URL, e.g. dockerhub=https://registry-1.docker.io")
        }
        let name = String(flag[..<equals]), url = String(flag[flag.index(after: equals)...])
        return try validated(ProxyConfiguration(name: name, url: url), key: "--proxy")
    }

    static func validated(_ proxy: ProxyConfiguration, key: String) throws(ConfigurationError) -> ProxyConfiguration {
        var proxy = proxy
        guard RepositoryName(proxy.name) != nil else {
            throw .invalidValue(key: key, value: proxy.name, expected: "a name usable as a repository path prefix (lowercase, e.g. dockerhub)")
        }
        while proxy.url.hasSuffix("/") { proxy.url.removeLast() }
        guard proxy.url.hasPrefix("http://") || proxy.url.hasPrefix("https://"), proxy.url.count > "https://".count else {
            throw .invalidValue(key: key, value: proxy.url, expected: "an http(s) URL, e.g. https://registry-1.docker.io")
        }
        return proxy
    }
}

/// Reads `proxy.upstreams`, one map per upstream keyed by its local name:
///
/// ```yaml
/// proxy:
///   revalidate: 5m              # tags are checked upstream again after this (default 5m)
///   max_bytes: 50GiB            # size budget of the cached blobs (default: none)
///   upstreams:
///     dockerhub:
///       url: https://registry-1.docker.io
///       username: me            # optional: Basic, or for the upstream's token endpoint
///       password_file: /etc/registry/dockerhub-password
///       root: true              # also at the registry's root (docker's registry-mirrors)
///       ca: /etc/registry/upstream-ca.pem   # a private CA to trust for its certificate
/// ```
enum ProxyYAML {
    static let structuredKeys: Set<String> = ["proxy.upstreams"]

    private static let fields: Set<String> = [
        "url", "username", "password", "password_file", "revalidate", "root", "library_namespace", "hosts", "ca",
    ]

    static func parse(_ upstreams: Node) throws(ConfigurationError) -> [ProxyConfiguration] {
        guard let mapping = upstreams.mapping else {
            throw .invalidValue(key: "proxy.upstreams", value: "\(upstreams)", expected: "a map of upstreams by local name")
        }
        var parsed: [ProxyConfiguration] = []
        for (nameNode, node) in mapping {
            let name = nameNode.string ?? ""
            let key = "proxy.upstreams.\(name)"
            guard let fieldsNode = node.mapping else {
                throw .invalidValue(key: key, value: "\(node)", expected: "a map with url and optional credentials")
            }
            for field in fieldsNode.keys.compactMap(\.string) where !fields.contains(field) {
                throw .unknownKey("\(key).\(field)", source: "the proxy upstreams")
            }
            guard let url = fieldsNode["url"]?.string else {
                throw .invalidValue(key: "\(key).url", value: "", expected: "the upstream's URL")
            }
            var proxy = ProxyConfiguration(name: name, url: url)
            proxy.username = fieldsNode["username"]?.string
            proxy.password = fieldsNode["password"]?.string
            if let file = fieldsNode["password_file"]?.string {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw .invalidValue(key: "\(key).password_file", value: file, expected: "a readable file")
                }
                proxy.password = text.trimmingCharacters(in: .newlines)
            }
            if let value = fieldsNode["revalidate"]?.string {
                proxy.revalidate = try DurationParser.parse(value, key: "\(key).revalidate")
            }
            if let value = fieldsNode["root"]?.string {
                proxy.servesRoot = try BooleanParser.parse(value, key: "\(key).root")
            }
            if let value = fieldsNode["library_namespace"]?.string {
                proxy.libraryNamespace = try BooleanParser.parse(value, key: "\(key).library_namespace")
            }
            if let hosts = fieldsNode["hosts"] {
                guard let list = hosts.sequence else {
                    throw .invalidValue(key: "\(key).hosts", value: "\(hosts)", expected: "a list of host names")
                }
                proxy.hosts = list.compactMap(\.string)
            }
            if let ca = fieldsNode["ca"]?.string {
                proxy.ca = try ExistingFile.path(ca, key: "\(key).ca")
            }
            if (proxy.username == nil) != (proxy.password == nil) {
                throw .invalidValue(key: "\(key).username", value: proxy.username ?? "", expected: "both a username and a password, or neither")
            }
            parsed.append(try ProxyConfiguration.validated(proxy, key: key))
        }
        return parsed
    }
}

/// `1073741824`, `512MiB`, `50GiB`, `1TB`.
public enum ByteCountParser {
    public static func parse(_ value: String, key: String) throws(ConfigurationError) -> Int64 {
        let units: [(String, Int64)] = [
            ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
            ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000), ("B", 1),
        ]
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            if let number = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number >= 0 {
                return Int64(number * Double(factor))
            }
        }
        if let bytes = Int64(trimmed), bytes >= 0 { return bytes }
        throw .invalidValue(key: key, value: value, expected: "a size in bytes, e.g. 50GiB or 1073741824")
    }
}

extension RegistryConfiguration {
    /// The cache of the configured upstreams, with its size budget; nil when there are none.
    func makePullThroughCache(
        store: any CacheEvictionStore & ExclusiveJobs, blobs: any BlobStore, logger: Logger
    ) throws -> PullThroughCache? {
        guard !proxies.isEmpty else { return nil }
        let upstreams = try proxies.map { proxy in
            ProxyUpstream(
                name: proxy.name,
                client: UpstreamClient(
                    baseURL: proxy.url,
                    credentials: proxy.username.map { UpstreamCredentials(username: $0, password: proxy.password ?? "") },
                    http: try UpstreamClient.httpClient(trustingCertificatesIn: proxy.ca)),
                revalidateAfter: proxy.revalidate ?? proxyRevalidate,
                hosts: Set(proxy.hosts.map { $0.lowercased() }),
                usesLibraryNamespace: proxy.libraryNamespace,
                servesRoot: proxy.servesRoot)
        }
        let budget = proxyMaxBytes.map {
            CacheBudget(
                limit: $0, store: store, blobs: blobs, logger: logger, inUseWindow: proxyInUseWindow)
        }
        return PullThroughCache(upstreams: upstreams, budget: budget)
    }
}
