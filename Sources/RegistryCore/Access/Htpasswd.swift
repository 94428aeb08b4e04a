import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HummingbirdBcrypt
import NIOConcurrencyHelpers

/// Users and bcrypt password hashes from an htpasswd file (`htpasswd -B` format), re-read
/// when the file changes (checked at most once a second).
public final class Htpasswd: Sendable {
    public let path: String
    private struct Snapshot {
        var entries: [String: String] = [:]
        var modified: Date?
        var checked: Date = .distantPast
    }
    private let snapshot = NIOLockedValueBox(Snapshot())

    public init(path: String) throws {
        self.path = path
        try reloadIfChanged(force: true)
    }

    /// Whether `password` is `user`'s. Only bcrypt entries are accepted.
    public func verify(user: String, password: String) -> Bool {
        try? reloadIfChanged()
        guard let hash = snapshot.withLockedValue({ $0.entries[user] }), Self.isBcrypt(hash) else { return false }
        return Bcrypt.verify(password, hash: hash)
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
        snapshot.withLockedValue {
            $0.entries = entries
            $0.modified = modified
        }
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
        guard !user.isEmpty, !user.contains(":"), !user.contains(where: \.isNewline) else {
            throw HtpasswdError.invalidUserName(user)
        }
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
    case cannotWrite(String)

    public var description: String {
        switch self {
        case .invalidUserName(let name): "invalid user name \"\(name)\" (no colons or line breaks)"
        case .cannotWrite(let path): "cannot write \(path)"
        }
    }
}
