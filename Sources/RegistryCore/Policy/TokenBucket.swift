import Foundation

/// A token bucket: holds up to `burst` tokens, gains `rate` per second, and each request takes
/// one. Times are monotonic nanoseconds (``RateLimiter`` passes `NIODeadline.now()`'s), so a
/// wall-clock step never refills or drains it.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var tokens: Double
    public private(set) var updatedAt: UInt64

    public init(burst: Int, now: UInt64) {
        self.tokens = Double(burst)
        self.updatedAt = now
    }

    /// Adds what `rate` earned since the last update, up to `burst`.
    mutating func refill(_ limit: RateLimit, now: UInt64) {
        guard now > updatedAt else { return }
        let seconds = Double(now - updatedAt) / 1e9
        tokens = min(Double(limit.burst), tokens + seconds * limit.perSecond)
        updatedAt = now
    }

    /// The longest wait a refusal names: a configured rate as small as `1e-300/s` must give a
    /// (long) `Retry-After`, not a trap converting its wait to an `Int`.
    static let longestWait = Int(Int32.max)

    /// Takes a token: nil when one was there, else the seconds until one will be (at least 1,
    /// as `Retry-After` counts whole seconds and 0 would invite an immediate retry; at most
    /// ``longestWait``).
    public mutating func take(_ limit: RateLimit, now: UInt64) -> Int? {
        refill(limit, now: now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        let wait = ((1 - tokens) / limit.perSecond).rounded(.up)
        return wait < Double(Self.longestWait) ? max(1, Int(wait)) : Self.longestWait
    }

    /// Gives back a token taken by a request that another bucket then refused.
    public mutating func giveBack(_ limit: RateLimit) {
        tokens = min(Double(limit.burst), tokens + 1)
    }

    /// Whether the bucket is full at `now`: it then remembers nothing a fresh one would not.
    func isFull(_ limit: RateLimit, now: UInt64) -> Bool {
        var copy = self
        copy.refill(limit, now: now)
        return copy.tokens >= Double(limit.burst)
    }
}

/// A sustained rate and the burst allowed above it.
public struct RateLimit: Sendable, Equatable, CustomStringConvertible {
    /// Tokens gained per second (> 0).
    public var perSecond: Double
    /// Bucket size: requests allowed at once after a quiet period (≥ 1).
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
    }

    /// `100/s`, `20/m`, `5000/h`, or a bare number of requests per second.
    public init?(rate: String, burst: Int?) {
        let parts = rate.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let count = Double(parts[0]), count > 0, count.isFinite else { return nil }
        let seconds: Double
        switch parts.count == 2 ? parts[1].lowercased() : "s" {
        case "s", "sec", "second": seconds = 1
        case "m", "min", "minute": seconds = 60
        case "h", "hour": seconds = 3600
        default: return nil
        }
        if let burst, burst < 1 { return nil }
        self.init(perSecond: count / seconds, burst: burst ?? max(1, Int(count.rounded(.up))))
    }

    public var description: String { "\(perSecond)/s burst \(burst)" }
}
