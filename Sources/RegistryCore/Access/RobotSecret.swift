import Crypto
import Foundation

/// A robot's secret: 256 random bits, shown once, stored as its SHA-256.
///
/// Not bcrypt: bcrypt's cost protects guessable passwords against offline guessing, but a
/// 256-bit random secret cannot be guessed whatever the hash, and a fast hash lets every request
/// (docker sends credentials on each one) be checked in a microsecond, without bcrypt's threads
/// or a cache of verified passwords.
public enum RobotSecret {
    static let hashPrefix = "sha256:"

    /// A new secret: 32 random bytes, base64url without padding (43 characters).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// `sha256:<hex>` of `secret`, what the database keeps.
    public static func hash(_ secret: String) -> String {
        hashPrefix + SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `secret` hashes to `storedHash`, compared in constant time.
    public static func matches(_ secret: String, storedHash: String) -> Bool {
        let computed = Array(hash(secret).utf8)
        let stored = Array(storedHash.utf8)
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ stored[index] }
        return difference == 0
    }
}
