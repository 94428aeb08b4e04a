import NIOConcurrencyHelpers
import RegistryModel
import RegistryUpstream

/// The upstream registries this registry caches, and the bookkeeping that makes the cache
/// fetch each thing once: fetches in progress, when each tag was last checked upstream.
public final class PullThroughCache: Sendable {
    public let upstreams: [ProxyUpstream]
    /// Keeps the cached blobs within a byte budget; nil for no limit.
    public let budget: CacheBudget?

    let manifestFetches = SingleFlight<Void>()
    let blobFetches = BlobFetchTable()
    private let checkedTags = NIOLockedValueBox([String: ContinuousClock.Instant]())
    /// Upstreams that just failed to answer, by name, until when they are not asked again.
    private let unavailableUntil = NIOLockedValueBox([String: ContinuousClock.Instant]())
    /// How long an upstream that could not be reached is left alone: meanwhile cached content
    /// is served stale at once instead of after another connection timeout.
    static let unavailableBackoff: Duration = .seconds(10)

    public init(upstreams: [ProxyUpstream], budget: CacheBudget? = nil) {
        self.upstreams = upstreams
        self.budget = budget
    }

    /// The local prefixes of the cached namespaces (`hub/`).
    var prefixes: [String] { upstreams.map { $0.name + "/" } }

    /// Notes a served image for the budget's eviction order.
    func served(_ digest: Digest, in repository: RepositoryName) {
        budget?.served(digest, in: repository)
    }

    /// Evicts what the budget says, in the background, sparing the blobs being fetched.
    func enforceBudget() {
        guard let budget else { return }
        let prefixes = self.prefixes, table = blobFetches
        Task { await budget.enforce(prefixes: prefixes) { await table.digestsInFlight() } }
    }

    /// The upstream a local repository name belongs to, with the upstream's name for it.
    public func route(for repository: RepositoryName) -> ProxyRoute? {
        for upstream in upstreams {
            let prefix = upstream.name + "/"
            guard repository.value.hasPrefix(prefix),
                  let remote = RepositoryName(String(repository.value.dropFirst(prefix.count)))
            else { continue }
            return ProxyRoute(upstream: upstream, repository: remote, cache: self)
        }
        return nil
    }

    /// The local name a request's repository path stands for. `alpine` under a Docker Hub
    /// prefix is `<prefix>/library/alpine`; containerd's `?ns=docker.io` and the root of a
    /// `servesRoot` upstream put the upstream's prefix in front.
    /// Whether a request's `?ns=` (the registry host a client such as containerd means)
    /// selects one of the upstreams, and so scopes the request to it.
    public func scopes(namespace: String) -> Bool {
        let namespace = namespace.lowercased()
        return !namespace.isEmpty && upstreams.contains { $0.hosts.contains(namespace) }
    }

    public func localName(for path: String, namespace: String?) -> String {
        if let namespace = namespace?.lowercased(), !namespace.isEmpty {
            if let upstream = upstreams.first(where: { $0.hosts.contains(namespace) }) {
                return upstream.name + "/" + upstream.upstreamName(path)
            }
            return path
        }
        for upstream in upstreams where path.hasPrefix(upstream.name + "/") {
            return upstream.name + "/" + upstream.upstreamName(String(path.dropFirst(upstream.name.count + 1)))
        }
        if let root = upstreams.first(where: \.servesRoot) {
            return root.name + "/" + root.upstreamName(path)
        }
        return path
    }

    // MARK: Upstream health

    func isUnavailable(_ upstream: ProxyUpstream) -> Bool {
        guard let until = unavailableUntil.withLockedValue({ $0[upstream.name] }) else { return false }
        return ContinuousClock.now < until
    }

    func markUnavailable(_ upstream: ProxyUpstream) {
        unavailableUntil.withLockedValue { $0[upstream.name] = .now + Self.unavailableBackoff }
    }

    func markAvailable(_ upstream: ProxyUpstream) {
        _ = unavailableUntil.withLockedValue { $0.removeValue(forKey: upstream.name) }
    }

    // MARK: Tag freshness

    func isFresh(_ tag: Tag, in repository: RepositoryName, route: ProxyRoute) -> Bool {
        guard let checked = checkedTags.withLockedValue({ $0[Self.key(tag, repository)] }) else { return false }
        return ContinuousClock.now - checked < route.upstream.revalidateAfter
    }

    func markChecked(_ tag: Tag, in repository: RepositoryName) {
        checkedTags.withLockedValue { $0[Self.key(tag, repository)] = .now }
    }

    static func key(_ tag: Tag, _ repository: RepositoryName) -> String {
        "\(repository):\(tag.value)"
    }
}

/// Blob fetches in progress, by repository and digest: a request for a blob already on its
/// way reads along instead of fetching it again.
actor BlobFetchTable {
    enum Entry {
        case starting(Task<BlobFetch?, any Error>)
        case running(BlobFetch)
    }

    private var entries: [String: Entry] = [:]
    private var digests: [String: Digest] = [:]

    func digestsInFlight() -> Set<Digest> {
        Set(digests.values)
    }

    /// The fetch of `key` in progress, or the one `start` begins (nil when `start` found the
    /// blob needs no fetch). `start` returns once the upstream answered; the fetch goes on and
    /// is removed from the table by ``finished(_:)``.
    func join(_ key: String, digest: Digest, start: @escaping @Sendable () async throws -> BlobFetch?) async throws -> BlobFetch? {
        switch entries[key] {
        case .running(let fetch):
            return fetch
        case .starting(let task):
            return try await task.value
        case nil:
            let task = Task { try await start() }
            entries[key] = .starting(task)
            digests[key] = digest
            let result = await task.result
            switch result {
            case .success(let fetch?) where fetch.outcome == nil: entries[key] = .running(fetch)
            default:
                entries[key] = nil
                digests[key] = nil
            }
            return try result.get()
        }
    }

    func finished(_ key: String) {
        entries[key] = nil
        digests[key] = nil
    }
}
