import NIOConcurrencyHelpers
import NIOCore
import RegistryModel

/// What a request does, for rate limits: each class has its own rate.
public enum RequestClass: String, Sendable, CaseIterable {
    /// Reading manifests, blobs, tag lists, referrers.
    case pull
    /// Uploads and manifest pushes.
    case push
    /// Everything else that is limited (catalog, deletes, the token endpoint, admin endpoints).
    case other
}

/// `rate_limits`: a token bucket per client address and per signed-in user, for each class.
public struct RateLimitPolicy: Sendable, Equatable {
    public var pull: RateLimit?
    public var push: RateLimit?
    public var other: RateLimit?
    /// Clients in these networks are never limited.
    public var exemptNetworks: [NetworkRange]
    /// Most buckets kept at once; past it the idle ones, then the least recently used, go.
    public var maxClients: Int

    public init(
        pull: RateLimit? = nil, push: RateLimit? = nil, other: RateLimit? = nil, exemptNetworks: [NetworkRange] = [],
        maxClients: Int = 100_000
    ) {
        self.pull = pull
        self.push = push
        self.other = other
        self.exemptNetworks = exemptNetworks
        self.maxClients = max(1, maxClients)
    }

    /// No class is limited.
    public var isEmpty: Bool { pull == nil && push == nil && other == nil }

    public func limit(for requestClass: RequestClass) -> RateLimit? {
        switch requestClass {
        case .pull: pull
        case .push: push
        case .other: other
        }
    }
}

/// Request rate limits: a request passes when both its client address's bucket and, signed in,
/// its user's bucket for the request's class hold a token (``TokenBucket``); otherwise it is
/// `429 TOOMANYREQUESTS` with a `Retry-After` saying when the emptier bucket has one again.
/// Admins and clients in exempt networks are never limited.
///
/// Memory is bounded by ``RateLimitPolicy/maxClients`` buckets, split over a few shards, each
/// behind its own lock, so concurrent requests from different clients rarely wait on each
/// other. A full shard first forgets buckets that have refilled (they hold nothing a new
/// bucket would not), then the least recently used tenth. A forgotten client starts again with
/// a full burst, which is the price of the bound.
public final class RateLimiter: Sendable {
    public let policy: RateLimitPolicy

    private struct Key: Hashable {
        /// `a` for an address, `u` for a user: the two never share a bucket.
        var kind: UInt8
        var name: String
        var requestClass: RequestClass
    }

    private struct Entry {
        var bucket: TokenBucket
        var lastSeen: UInt64
    }

    private struct Shard {
        var entries: [Key: Entry] = [:]
    }

    private let shards: [NIOLockedValueBox<Shard>]
    private let shardCapacity: Int
    private let throttled = NIOLockedValueBox(0)
    /// Counts refusals as `registry_requests_throttled_total`.
    private let metrics: RegistryMetrics

    public init(policy: RateLimitPolicy, metrics: RegistryMetrics = .disabled) {
        self.policy = policy
        self.metrics = metrics
        let count = max(1, min(16, policy.maxClients / 1024))
        self.shards = (0..<count).map { _ in NIOLockedValueBox(Shard()) }
        self.shardCapacity = max(1, policy.maxClients / count)
    }

    /// Requests refused so far (for metrics).
    public var throttledRequests: Int { throttled.withLockedValue { $0 } }

    /// Buckets held now (never more than ``RateLimitPolicy/maxClients``).
    public var trackedBuckets: Int { shards.reduce(0) { $0 + $1.withLockedValue { $0.entries.count } } }

    /// Whether `address` is in an exempt network.
    public func isExempt(_ address: String) -> Bool {
        policy.exemptNetworks.contains { $0.contains(address) }
    }

    /// Lets a request through or throws `429 TOOMANYREQUESTS` with `Retry-After`. `isAdmin` is
    /// only evaluated for a request that would be limited.
    public func admit(
        address: String?, user: String?, as requestClass: RequestClass, isAdmin: @autoclosure () -> Bool,
        now: UInt64 = NIODeadline.now().uptimeNanoseconds
    ) throws(RegistryError) {
        guard let limit = policy.limit(for: requestClass) else { return }
        if let address, isExempt(address) { return }
        if isAdmin() { return }
        let addressKey = address.map { Key(kind: UInt8(ascii: "a"), name: $0, requestClass: requestClass) }
        let userKey = user.map { Key(kind: UInt8(ascii: "u"), name: $0, requestClass: requestClass) }
        if let addressKey, let wait = take(addressKey, limit, now: now) {
            throw refusal(wait, requestClass)
        }
        if let userKey, let wait = take(userKey, limit, now: now) {
            // Both must allow: the address's token was not used.
            if let addressKey { giveBack(addressKey, limit) }
            throw refusal(wait, requestClass)
        }
    }

    private func refusal(_ seconds: Int, _ requestClass: RequestClass) -> RegistryError {
        throttled.withLockedValue { $0 += 1 }
        metrics.requestThrottled()
        return RegistryError(
            .tooManyRequests, message: "too many \(requestClass.rawValue) requests: retry in \(seconds) s",
            headers: [("Retry-After", "\(seconds)")])
    }

    private func shard(for key: Key) -> NIOLockedValueBox<Shard> {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    private func take(_ key: Key, _ limit: RateLimit, now: UInt64) -> Int? {
        shard(for: key).withLockedValue { shard in
            if var entry = shard.entries[key] {
                let wait = entry.bucket.take(limit, now: now)
                entry.lastSeen = now
                shard.entries[key] = entry
                return wait
            }
            if shard.entries.count >= shardCapacity { evict(&shard, now: now) }
            var bucket = TokenBucket(burst: limit.burst, now: now)
            let wait = bucket.take(limit, now: now)
            shard.entries[key] = Entry(bucket: bucket, lastSeen: now)
            return wait
        }
    }

    private func giveBack(_ key: Key, _ limit: RateLimit) {
        shard(for: key).withLockedValue { shard in
            shard.entries[key]?.bucket.giveBack(limit)
        }
    }

    /// Makes room in a full shard: refilled buckets first, else the least recently used tenth.
    private func evict(_ shard: inout Shard, now: UInt64) {
        let policy = self.policy
        shard.entries = shard.entries.filter { key, entry in
            guard let limit = policy.limit(for: key.requestClass) else { return false }
            return !entry.bucket.isFull(limit, now: now)
        }
        guard shard.entries.count >= shardCapacity else { return }
        let oldest = shard.entries.sorted { $0.value.lastSeen < $1.value.lastSeen }.prefix(max(1, shardCapacity / 10))
        for (key, _) in oldest { shard.entries[key] = nil }
    }
}
