import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HummingbirdBcrypt
import NIOConcurrencyHelpers

/// Users and bcrypt password hashes from an htpasswd file (`htpasswd -B` format), re-read
/// when the file changes (checked at most once a second).
///
/// Checks run on ``BcryptWorker``'s threads, never on the cooperative pool; successes are
/// remembered for a minute (``VerificationCache``); and an unknown user (or an entry that is not
/// bcrypt) costs one bcrypt check like any other, so timing does not tell which users exist.
public final class Htpasswd: Sendable {
    public let path: String
    private struct Snapshot {
        var entries: [String: String] = [:]
        /// The cost most entries use: what a login as an unknown user is made to cost.
        var typicalCost = 10
        var modified: Date?
        var checked: Date = .distantPast
    }
    private let snapshot = NIOLockedValueBox(Snapshot())
    let cache: VerificationCache
    private let verifications = NIOLockedValueBox(0)

    public convenience init(path: String) throws {
        try self.init(path: path, cache: VerificationCache())
    }

    init(path: String, cache: VerificationCache) throws {
        self.path = path
        self.cache = cache
        try reloadIfChanged(force: true)
    }

    /// How many bcrypt checks this file has run (cached successes run none), for tests and metrics.
    public var bcryptVerifications: Int { verifications.withLockedValue { $0 } }

    /// Whether `password` is `user`'s. Only bcrypt entries are accepted, and never a user name or
    /// password with a NUL byte: bcrypt stops reading at the first NUL, so `secret\0anything`
    /// would otherwise pass as `secret`.
    public func verify(user: String, password: String) async -> Bool {
        guard !user.utf8.contains(0), !password.utf8.contains(0) else { return false }
        try? reloadIfChanged()
        let (stored, typicalCost) = snapshot.withLockedValue { ($0.entries[user], $0.typicalCost) }
        guard let stored, Self.isBcrypt(stored) else {
            _ = await bcrypt(password, hash: await BcryptWorker.decoyHash(cost: typicalCost))
            return false
        }
        if cache.contains(user: user, password: password, storedHash: stored) { return true }
        guard await bcrypt(password, hash: stored) else { return false }
        cache.insert(user: user, password: password, storedHash: stored)
        return true
    }

    /// `user`'s entry as the file holds it now (nil once the user is removed).
    public func storedHash(of user: String) -> String? {
        try? reloadIfChanged()
        return snapshot.withLockedValue { $0.entries[user] }
    }

    private func bcrypt(_ password: String, hash: String) async -> Bool {
        verifications.withLockedValue { $0 += 1 }
        return await BcryptWorker.verify(password, hash: hash)
    }

    /// Re-reads the file now, whether or not it looks changed.
    func reload() throws {
        try reloadIfChanged(force: true)
    }

    private func reloadIfChanged(force: Bool = false) throws {
        let now = Date()
        let due = snapshot.withLockedValue { state -> Bool in
            guard force || now.timeIntervalSince(state.checked) >= 1 else { return false }
            state.checked = now
            return true
        }
        guard due else { return }
        let modified = (try FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        guard force || modified != snapshot.withLockedValue({ $0.modified }) else { return }
        let entries = try Self.parse(String(contentsOfFile: path, encoding: .utf8))
        let typicalCost = Self.typicalCost(of: entries.values)
        snapshot.withLockedValue {
            $0.entries = entries
            $0.typicalCost = typicalCost
            $0.modified = modified
        }
    }

    /// The most common bcrypt cost among `hashes` (10, the default of ``setPassword``, if none).
    static func typicalCost(of hashes: some Sequence<String>) -> Int {
        var counts: [Int: Int] = [:]
        for hash in hashes { if let cost = BcryptWorker.cost(of: hash) { counts[cost, default: 0] += 1 } }
        return counts.max { ($0.value, $0.key) < ($1.value, $1.key) }?.key ?? 10
    }

    static func parse(_ text: String) throws -> [String: String] {
        var entries: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let colon = trimmed.firstIndex(of: ":") else { continue }
            entries[String(trimmed[..<colon])] = String(trimmed[trimmed.index(after: colon)...])
        }
        return entries
    }

    static func isBcrypt(_ hash: String) -> Bool {
        hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$")
    }

    /// Adds or replaces `user` in the htpasswd file at `path` (created if missing, mode 0600).
    public static func setPassword(_ password: String, for user: String, in path: String, cost: UInt8 = 10) throws {
        guard !user.isEmpty, !user.contains(":"), !user.contains(where: \.isNewline), !user.utf8.contains(0) else {
            throw HtpasswdError.invalidUserName(user)
        }
        // bcrypt would hash only what comes before a NUL byte.
        guard !password.utf8.contains(0) else { throw HtpasswdError.invalidPassword }
        var lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(whereSeparator: \.isNewline).map(String.init) ?? []
        lines.removeAll { $0.hasPrefix(user + ":") }
        lines.append("\(user):\(Bcrypt.hash(password, cost: cost))")
        try write(lines, to: path)
    }

    /// Removes `user`; returns false when there was no such user.
    public static func removeUser(_ user: String, from path: String) throws -> Bool {
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        let before = lines.count
        lines.removeAll { $0.hasPrefix(user + ":") }
        guard lines.count != before else { return false }
        try write(lines, to: path)
        return true
    }

    private static func write(_ lines: [String], to path: String) throws {
        let temporary = path + ".tmp-\(UInt32.random(in: .min ... .max))"
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw HtpasswdError.cannotWrite(path)
        }
        // rename(2) replaces atomically, so a running registry never reads half a file.
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw HtpasswdError.cannotWrite(path)
        }
    }
}

public enum HtpasswdError: Error, CustomStringConvertible {
    case invalidUserName(String)
    case invalidPassword
    case cannotWrite(String)

    public var description: String {
        switch self {
        case .invalidUserName(let name): "invalid user name \"\(name)\" (no colons, line breaks or NUL bytes)"
        case .invalidPassword: "invalid password (no NUL bytes: bcrypt would ignore everything after one)"
        case .cannotWrite(let path): "cannot write \(path)"
        }
    }
}
