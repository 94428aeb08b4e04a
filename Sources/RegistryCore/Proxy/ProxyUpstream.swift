import RegistryModel
import RegistryUpstream

/// One upstream registry a pull-through cache serves, under the local path prefix `name`
/// (`/v2/<name>/library/alpine/...` is upstream `library/alpine`).
public struct ProxyUpstream: Sendable {
    /// The local namespace: the first segment(s) of the repository names served from it.
    public var name: String
    public var client: UpstreamClient
    /// A tag is asked about again (a `HEAD`) once it was last checked this long ago.
    public var revalidateAfter: Duration
    /// Host names containerd gives in `?ns=` for this upstream (`docker.io` for Docker Hub).
    public var hosts: Set<String>
    /// One-segment names get `library/` in front, as Docker Hub's official images do.
    public var usesLibraryNamespace: Bool
    /// Serves the upstream at the registry's root too (`/v2/alpine/...`), the paths docker's
    /// `registry-mirrors` setting sends. Names under another upstream's prefix stay theirs.
    public var servesRoot: Bool

    public init(
        name: String, client: UpstreamClient, revalidateAfter: Duration = .seconds(300), hosts: Set<String> = [],
        usesLibraryNamespace: Bool? = nil, servesRoot: Bool = false
    ) {
        self.name = name
        self.client = client
        self.revalidateAfter = revalidateAfter
        var hosts = hosts
        if let host = Self.host(of: client.baseURL) { hosts.insert(host) }
        let isDockerHub = !hosts.isDisjoint(with: Self.dockerHubHosts)
        if isDockerHub { hosts.formUnion(Self.dockerHubHosts) }
        self.hosts = hosts
        self.usesLibraryNamespace = usesLibraryNamespace ?? isDockerHub
        self.servesRoot = servesRoot
    }

    static let dockerHubHosts: Set<String> = ["docker.io", "index.docker.io", "registry-1.docker.io"]

    /// `host[:port]` of an `http(s)://host[:port]` URL, lowercased.
    static func host(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        return String(rest.prefix { $0 != "/" }).lowercased()
    }

    /// The upstream's name for a path below the prefix (`alpine` -> `library/alpine`).
    func upstreamName(_ path: String) -> String {
        usesLibraryNamespace && !path.contains("/") ? "library/" + path : path
    }
}

/// Where a local repository of a proxied namespace comes from.
public struct ProxyRoute: Sendable {
    public var upstream: ProxyUpstream
    /// The repository's name at the upstream.
    public var repository: RepositoryName
    /// The cache the route belongs to (its fetches in progress, tag freshness, budget).
    let cache: PullThroughCache
}
