/// The key pair (and, for temporary credentials, the session token) requests are signed with.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Sent as `x-amz-security-token` when present (STS temporary credentials).
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Names the key, never the secret: configurations get logged.
    public var description: String { "S3Credentials(\(accessKeyID), secret: <redacted>)" }
}
