import Foundation
import Logging
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage

/// Keeps a pull-through cache's blobs within a byte budget: when over, the least recently pulled
/// cached images go, with the blobs that only they used, until the cache fits. Content a client is
/// using is never evicted: blobs being fetched, and images served within ``inUseWindow``.
public actor CacheBudget {
    public let limit: Int64
    /// The metadata; evictions are claimed in it, one process at a time among replicas.
    let store: any CacheEvictionStore & ExclusiveJobs
    let blobs: any BlobStore
    let logger: Logger
    /// An image served this recently is taken as being pulled right now.
    let inUseWindow: Duration

    private var running = false
    private var requested = false
    /// When each cached image was last served, `repository@digest`: fresher than the database,
    /// whose pull times are written in batches.
    private let lastServed = NIOLockedValueBox([String: Date]())

    public init(
        limit: Int64, store: any CacheEvictionStore & ExclusiveJobs, blobs: any BlobStore, logger: Logger, inUseWindow: Duration = .seconds(60)
    ) {
        self.limit = limit
        self.store = store
        self.blobs = blobs
        self.logger = logger
        self.inUseWindow = inUseWindow
    }

    /// Notes that a client was served an image (or one of an index's images).
    nonisolated func served(_ digest: Digest, in repository: RepositoryName) {
        lastServed.withLockedValue { $0["\(repository)@\(digest)"] = Date() }
    }

    /// Brings the cache within budget; a call while one runs makes it run once more afterwards.
    /// Returns the bytes evicted by this call's runs.
    @discardableResult
    func enforce(prefixes: [String], protecting protected: @Sendable () async -> Set<Digest>) async -> Int64 {
        if running {
            requested = true
            return 0
        }
        running = true
        defer { running = false }
        var evicted: Int64 = 0
        repeat {
            requested = false
            do {
                let protectedDigests = await protected()
                // Another replica evicting now brings the shared cache within budget itself.
                evicted += try await store.runExclusively("cache-eviction") {
                    try await self.evict(prefixes: prefixes, protecting: protectedDigests)
                } ?? 0
            } catch {
                logger.error("cache eviction failed", metadata: ["error": "\(error)"])
            }
        } while requested
        return evicted
    }

    private func evict(prefixes: [String], protecting protected: Set<Digest>) async throws -> Int64 {
        var total = try await store.cachedBytes(under: prefixes)
        guard total > limit else { return 0 }
        let served = lastServed.withLockedValue { $0 }
        let now = Date()
        let window = Double(inUseWindow.components.seconds)
        let entries = try await store.cacheEntries(under: prefixes).map { entry -> CacheEntry in
            var entry = entry
            // This process's own record is exact; the database's pull times are those of the
            // batch they were written in, the same for every pull of a batch.
            if let seen = served["\(entry.repository)@\(entry.digest)"] { entry.lastUsed = seen }
            return entry
        }.filter { now.timeIntervalSince($0.lastUsed) >= window }.sorted { $0.lastUsed < $1.lastUsed }
        var evicted: Int64 = 0
        var images = 0
        let blobs = self.blobs
        for entry in entries where total > limit {
            let removed = try await store.evict(entry, protecting: protected) { tombstones in try await blobs.dispose(tombstones) }
            let bytes = removed.reduce(0) { $0 + $1.size }
            evicted += bytes
            images += 1
            total = try await store.cachedBytes(under: prefixes)
        }
        if images > 0 {
            logger.notice("cache over budget: evicted least recently pulled images", metadata: [
                "images": "\(images)", "bytes": "\(evicted)", "cached_bytes": "\(total)", "budget": "\(limit)",
            ])
        }
        if total > limit {
            logger.warning("cache still over budget: what is left is in use", metadata: ["cached_bytes": "\(total)", "budget": "\(limit)"])
        }
        return evicted
    }
}
