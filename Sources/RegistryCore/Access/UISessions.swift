import Crypto
import Foundation

/// The web UI's sign-ins: a session cookie that names the user and when it expires, signed with
/// HMAC-SHA256 so that it cannot be forged or extended, and the CSRF tokens of the UI's forms.
/// The signature also covers the user's credential as it was at sign-in (their htpasswd entry,
/// which the cookie does not carry): removing the user or changing the password ends the
/// session at once, on every replica.
///
/// Nothing is stored: a cookie is valid on every process that has the same key
/// (`ui.session_key_file` for a cluster; without it each process makes its own, and a restart
/// signs everyone out). A cookie is only issued after ``AccessControl/verifyPassword(user:password:address:)``.
public struct UISessions: Sendable {
    public static let cookieName = "registry_session"
    private let key: SymmetricKey
    public let lifetime: Duration

    public init(key: SymmetricKey = SymmetricKey(size: .bits256), lifetime: Duration = .seconds(8 * 3600)) {
        self.key = key
        self.lifetime = lifetime
    }

    /// A key from a file's bytes (any length: they are hashed), so that replicas share sessions.
    public init(keyFile contents: [UInt8], lifetime: Duration = .seconds(8 * 3600)) {
        self.init(key: SymmetricKey(data: SHA256.hash(data: contents)), lifetime: lifetime)
    }

    /// `user.expiry.signature`, user base64url-encoded, expiry in Unix seconds; the signature
    /// covers `credential` too.
    public func cookie(for user: String, credential: String, now: Date = Date()) -> String {
        let expiry = Int64(now.timeIntervalSince1970) + lifetime.components.seconds
        let payload = "\(Self.base64URL(Array(user.utf8))).\(expiry)"
        return payload + "." + Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Self.signed(payload, credential), using: key)))
    }

    /// The user a cookie names, if it has not expired and its signature holds for the user's
    /// current credential (`credential(user)`, nil for a user who no longer exists).
    public func user(fromCookie value: String, credential: (String) -> String?, now: Date = Date()) -> String? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[1]), expiry > Int64(now.timeIntervalSince1970),
              let signature = Self.decodeBase64URL(parts[2]), let name = Self.decodeBase64URL(parts[0])
        else { return nil }
        let user = String(decoding: name, as: UTF8.self)
        guard let current = credential(user),
              HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Self.signed("\(parts[0]).\(parts[1])", current), using: key)
        else { return nil }
        return user
    }

    private static func signed(_ payload: String, _ credential: String) -> [UInt8] {
        Array(payload.utf8) + [0] + Array(credential.utf8)
    }

    /// The token a form of the UI carries for `user` (empty for anonymous visitors of a
    /// registry without logins): a request from another site cannot know it.
    public func csrfToken(for user: String?) -> String {
        Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Array("csrf:\(user ?? "")".utf8), using: key)))
    }

    public func isValidCSRFToken(_ token: String, for user: String?) -> Bool {
        guard let code = Self.decodeBase64URL(Substring(token)) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Array("csrf:\(user ?? "")".utf8), using: key)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
