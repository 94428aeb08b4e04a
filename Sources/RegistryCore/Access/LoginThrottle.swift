import Foundation
import NIOConcurrencyHelpers

/// Slows down password guessing: after `limit` failed logins for one (client address, user)
/// within `window`, further attempts are refused until the window has passed. The table is
/// bounded; when full, the oldest entries are dropped.
public final class LoginThrottle: Sendable {
    private struct Entry {
        var failures: Int
        var windowStart: Date
    }

    public let limit: Int
    public let window: TimeInterval
    public let capacity: Int
    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    /// Counts failed logins and the attempts refused while throttled: every password check goes
    /// through here, whatever mode or account kind it is for.
    private let metrics: RegistryMetrics

    public init(limit: Int = 5, window: TimeInterval = 60, capacity: Int = 10_000, metrics: RegistryMetrics = .disabled) {
        self.limit = limit
        self.window = window
        self.capacity = capacity
        self.metrics = metrics
    }

    /// Seconds to wait before trying again, or nil when an attempt is allowed now. Ask once per
    /// login attempt: a refusal counts as a throttled login.
    public func retryAfter(address: String, user: String, now: Date = Date()) -> Int? {
        let retryAfter: Int? = entries.withLockedValue { entries in
            guard let entry = entries[Self.key(address, user)] else { return nil }
            let elapsed = now.timeIntervalSince(entry.windowStart)
            guard entry.failures >= limit, elapsed < window else { return nil }
            return max(1, Int((window - elapsed).rounded(.up)))
        }
        if retryAfter != nil { metrics.loginThrottled() }
        return retryAfter
    }

    public func recordFailure(address: String, user: String, now: Date = Date()) {
        metrics.loginFailed()
        entries.withLockedValue { entries in
            let key = Self.key(address, user)
            if var entry = entries[key], now.timeIntervalSince(entry.windowStart) < window {
                entry.failures += 1
                entries[key] = entry
            } else {
                if entries.count >= capacity {
                    let oldest = entries.sorted { $0.value.windowStart < $1.value.windowStart }.prefix(capacity / 10 + 1)
                    for (key, _) in oldest { entries[key] = nil }
                }
                entries[key] = Entry(failures: 1, windowStart: now)
            }
        }
    }

    /// How many (address, user) pairs are being tracked (never more than `capacity`).
    public var trackedCount: Int { entries.withLockedValue { $0.count } }

    public func recordSuccess(address: String, user: String) {
        entries.withLockedValue { $0[Self.key(address, user)] = nil }
    }

    private static func key(_ address: String, _ user: String) -> String { address + "\u{0}" + user }
}
