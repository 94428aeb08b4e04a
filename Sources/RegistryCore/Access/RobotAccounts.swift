import Foundation
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage

/// The robot accounts a running registry signs in: looked up in the metadata database and
/// remembered for ``cacheLifetime`` (unknown names too), so that a client sending credentials
/// with every request costs a database read at most that often, and a robot added, disabled
/// or removed by `registry robot` (another process, or another replica) counts within that time.
public final class RobotAccounts: Sendable {
    public static let defaultCacheLifetime: Duration = .seconds(2)

    public let cacheLifetime: Duration
    private let store: any RobotAccountStore
    private let capacity: Int
    private let cache = NIOLockedValueBox([String: (record: RobotAccountRecord?, fetched: ContinuousClock.Instant)]())

    public init(store: any RobotAccountStore, cacheLifetime: Duration = defaultCacheLifetime, capacity: Int = 4096) {
        self.store = store
        self.cacheLifetime = cacheLifetime
        self.capacity = capacity
    }

    /// Why a robot may not sign in.
    public enum Refusal: Error, Equatable {
        case unknownOrWrongSecret
        case disabled
        case expired
    }

    /// The robot named `name` if `secret` is its secret and it is enabled and unexpired.
    /// The secret is checked first: disabled or expired is told only to who knows it.
    public func verify(name: String, secret: String, now: Date = Date()) async throws(RegistryError) -> Result<RobotAccount, Refusal> {
        guard let record = try await record(named: name), RobotSecret.matches(secret, storedHash: record.secretHash) else {
            return .failure(.unknownOrWrongSecret)
        }
        return Self.check(record, now: now)
    }

    /// The robot named `name` if it exists, is enabled and unexpired (for a token's subject,
    /// whose secret was checked when the token was issued).
    public func active(named name: String, now: Date = Date()) async throws(RegistryError) -> Result<RobotAccount, Refusal> {
        guard let record = try await record(named: name) else { return .failure(.unknownOrWrongSecret) }
        return Self.check(record, now: now)
    }

    private static func check(_ record: RobotAccountRecord, now: Date) -> Result<RobotAccount, Refusal> {
        let account = RobotAccount(record: record)
        if account.disabled { return .failure(.disabled) }
        if account.isExpired(at: now) { return .failure(.expired) }
        return .success(account)
    }

    private func record(named name: String) async throws(RegistryError) -> RobotAccountRecord? {
        let now = ContinuousClock.now
        if let hit = cache.withLockedValue({ $0[name] }), now - hit.fetched < cacheLifetime { return hit.record }
        let record: RobotAccountRecord?
        do {
            record = try await store.robotAccount(named: name)
        } catch {
            throw RegistryError(.unavailable, message: "robot accounts cannot be read now")
        }
        cache.withLockedValue { cache in
            if cache.count >= capacity {
                cache = cache.filter { now - $0.value.fetched < cacheLifetime }
                if cache.count >= capacity { cache.removeAll() }
            }
            cache[name] = (record, now)
        }
        return record
    }
}
