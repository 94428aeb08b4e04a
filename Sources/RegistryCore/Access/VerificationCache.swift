import Crypto
import Foundation
import NIOConcurrencyHelpers

/// Remembers recent successful password checks for a short time, so that a client sending Basic
/// credentials on every request (as docker does) pays for bcrypt once per `lifetime`, not per
/// request. Failures are never remembered.
///
/// Entries are keyed by an HMAC-SHA-256, under a key made at random for this process, of the
/// user, the password and the stored bcrypt hash: the plain password is never kept, and a
/// changed htpasswd entry (a new hash) no longer matches its old entries. At most `capacity`
/// entries are kept; when full, the oldest goes.
final class VerificationCache: Sendable {
    let lifetime: TimeInterval
    let capacity: Int
    private let key = SymmetricKey(size: .bits256)
    private let entries = NIOLockedValueBox<[Data: Date]>([:])

    init(lifetime: TimeInterval = 60, capacity: Int = 1024) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Whether `password` was found to be `user`'s, against `storedHash`, within `lifetime`.
    func contains(user: String, password: String, storedHash: String, now: Date = Date()) -> Bool {
        let key = cacheKey(user: user, password: password, storedHash: storedHash)
        return entries.withLockedValue { entries in
            guard let verified = entries[key] else { return false }
            guard now.timeIntervalSince(verified) < lifetime else {
                entries[key] = nil
                return false
            }
            return true
        }
    }

    func insert(user: String, password: String, storedHash: String, now: Date = Date()) {
        let key = cacheKey(user: user, password: password, storedHash: storedHash)
        entries.withLockedValue { entries in
            if entries[key] == nil, entries.count >= capacity {
                entries = entries.filter { now.timeIntervalSince($0.value) < lifetime }
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value < $1.value })?.key {
                    entries[oldest] = nil
                }
            }
            entries[key] = now
        }
    }

    var count: Int { entries.withLockedValue { $0.count } }

    private func cacheKey(user: String, password: String, storedHash: String) -> Data {
        // Lengths first, so that no two different triples give the same input.
        var input = Data()
        for field in [user, password, storedHash] {
            let bytes = Array(field.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { input.append(contentsOf: $0) }
            input.append(contentsOf: bytes)
        }
        return Data(HMAC<SHA256>.authenticationCode(for: input, using: key))
    }
}
