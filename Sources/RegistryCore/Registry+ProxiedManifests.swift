import NIOCore
import RegistryModel
import RegistryStorage
import RegistryUpstream

/// A manifest as served, and whether it comes from the cache without the upstream's word that
/// it is current (the upstream could not be asked).
public struct ServedManifest: Sendable {
    public var manifest: StoredManifest
    public var isStale: Bool
}

/// Manifests and tags of a cached upstream's namespace.
extension Registry {
    /// A proxied tag: the cached manifest while the tag is fresh, otherwise asked about upstream
    /// (a `HEAD`; the manifest itself only when the tag moved). When the upstream cannot be
    /// reached or is overloaded, the cached manifest is served stale.
    func proxiedManifest(taggedAs tag: Tag, in repository: RepositoryName, route: ProxyRoute) async throws -> ServedManifest {
        let cached = try await metadata.manifest(taggedAs: tag, in: repository)
        if let cached, route.cache.isFresh(tag, in: repository, route: route) {
            metrics.proxyHit(.manifest)
            route.cache.served(cached.digest, in: repository)
            return ServedManifest(manifest: cached, isStale: false)
        }
        metrics.proxyMiss(.manifest)
        do {
            try await withUpstream(route) {
                try await route.cache.manifestFetches.run("tag \(PullThroughCache.key(tag, repository))") {
                    try await self.revalidate(tag, in: repository, route: route)
                }
            }
        } catch let error where Self.upstreamIsUnavailable(error) {
            if let cached {
                logger.warning("upstream unavailable, serving the cached manifest", metadata: [
                    "repository": "\(repository)", "tag": "\(tag.value)", "error": "\(error)",
                ])
                return ServedManifest(manifest: cached, isStale: true)
            }
            throw Self.unavailable(route, error)
        } catch let error as UpstreamError {
            throw Self.upstreamFailed(route, error)
        }
        guard let current = try await metadata.manifest(taggedAs: tag, in: repository) else {
            throw RegistryError(.manifestUnknown, detail: ["tag": tag.value])
        }
        route.cache.served(current.digest, in: repository)
        return ServedManifest(manifest: current, isStale: false)
    }

    private func revalidate(_ tag: Tag, in repository: RepositoryName, route: ProxyRoute) async throws {
        let client = route.upstream.client
        let upstreamDigest: Digest?
        do {
            upstreamDigest = try await client.manifestDigest(tag, in: route.repository)
        } catch UpstreamError.invalidResponse {
            // A registry whose HEAD names no digest: ask with a GET.
            upstreamDigest = try await client.manifest(.tag(tag), in: route.repository).map(\.digest)
        }
        guard let upstreamDigest else {
            // Gone upstream: so it goes here (its content stays until the budget or GC takes it).
            _ = try? await metadata.deleteTag(tag, in: repository)
            throw RegistryError(.manifestUnknown, message: "the upstream has no such tag", detail: ["tag": tag.value])
        }
        let cached = try await metadata.manifest(taggedAs: tag, in: repository)
        if cached?.digest != upstreamDigest {
            if let stored = try await metadata.manifest(upstreamDigest, in: repository) {
                try await storeProxied(stored.content, mediaType: stored.mediaType, digest: upstreamDigest, tag: tag, in: repository)
            } else {
                guard let fetched = try await client.manifest(.digest(upstreamDigest), in: route.repository) else {
                    throw UpstreamError.invalidResponse(
                        url: "\(client.baseURL)/\(route.repository)", reason: "tag \(tag.value) points at \(upstreamDigest), which is missing")
                }
                try await storeProxied(
                    ByteBuffer(bytes: fetched.bytes), mediaType: fetched.mediaType, digest: fetched.digest, tag: tag, in: repository)
            }
        }
        route.cache.markChecked(tag, in: repository)
    }

    /// A proxied manifest by digest: cached for good once fetched (a digest cannot move).
    func proxiedManifest(_ digest: Digest, in repository: RepositoryName, route: ProxyRoute) async throws -> StoredManifest? {
        route.cache.served(digest, in: repository)
        if let cached = try await metadata.manifest(digest, in: repository) {
            metrics.proxyHit(.manifest)
            return cached
        }
        metrics.proxyMiss(.manifest)
        try await fromUpstream(route) {
            try await route.cache.manifestFetches.run("digest \(repository)@\(digest)") {
                guard try await self.metadata.manifest(digest, in: repository) == nil else { return }
                guard let fetched = try await route.upstream.client.manifest(.digest(digest), in: route.repository) else { return }
                try await self.storeProxied(
                    ByteBuffer(bytes: fetched.bytes), mediaType: fetched.mediaType, digest: digest, tag: nil, in: repository)
            }
        }
        return try await metadata.manifest(digest, in: repository)
    }

    /// Stores an upstream's manifest byte-exact; what it references is fetched when asked for.
    private func storeProxied(_ content: ByteBuffer, mediaType: String?, digest: Digest, tag: Tag?, in repository: RepositoryName) async throws {
        let bytes = Array(content.readableBytesView)
        let manifest = try Manifest(parsing: bytes, contentType: mediaType)
        var record = Self.record(of: manifest, digest: digest, content: content)
        record.referencesMayBeAbsent = true
        _ = try await metadata.putManifest(record, tag: tag, in: repository, events: cacheFillEvents(record, tag: tag, in: repository))
    }

    /// A proxied repository's tags as the upstream lists them, in lexical order; nil when the
    /// upstream cannot be asked (the cached tags are listed then).
    func proxiedTags(in repository: RepositoryName, route: ProxyRoute) async throws -> [String]? {
        do {
            return try await withUpstream(route) { try await route.upstream.client.tags(of: route.repository) }.sorted()
        } catch let error where Self.upstreamIsUnavailable(error) {
            logger.warning("upstream unavailable, listing the cached tags", metadata: ["repository": "\(repository)", "error": "\(error)"])
            return nil
        } catch let error as UpstreamError {
            throw Self.upstreamFailed(route, error)
        }
    }
}
