import Foundation
import JWTKit

/// The Docker registry token flow: short-lived signed JWTs (ES256) whose `access` claim lists
/// what the bearer may do, issued by the built-in token endpoint and verified on every request.
/// Tokens from an external token server are accepted too when its public keys are configured.
public final class TokenAuthority: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Where clients get tokens (the `realm` of the Bearer challenge).
        public var realm: String
        public var service: String
        public var issuer: String
        public var lifetime: Duration
        public var refreshLifetime: Duration

        public init(
            realm: String, service: String = "registry", issuer: String = "registry-token-issuer",
            lifetime: Duration = .seconds(300), refreshLifetime: Duration = .seconds(30 * 86400)
        ) {
            self.realm = realm
            self.service = service
            self.issuer = issuer
            self.lifetime = lifetime
            self.refreshLifetime = refreshLifetime
        }
    }

    public let settings: Settings
    private let keys: JWTKeyCollection
    private static let signingKid = JWKIdentifier(string: "registry")

    /// - Parameters:
    ///   - signingKeyPEM: the built-in issuer's ES256 private key.
    ///   - trustedPublicKeysPEM: ES256 public keys of external token servers.
    ///   - jwks: a JWKS document of external token servers.
    public init(settings: Settings, signingKeyPEM: String, trustedPublicKeysPEM: [String] = [], jwks: String? = nil) async throws {
        self.settings = settings
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: try ES256PrivateKey(pem: signingKeyPEM), kid: Self.signingKid)
        for (index, pem) in trustedPublicKeysPEM.enumerated() {
            await keys.add(ecdsa: try ES256PublicKey(pem: pem), kid: JWKIdentifier(string: "trusted-\(index)"))
        }
        if let jwks { try await keys.add(jwksJSON: jwks) }
        self.keys = keys
    }

    /// A new ES256 private key in PEM, for a registry that has none yet.
    public static func makeSigningKeyPEM() -> String {
        ES256PrivateKey().pemRepresentation
    }

    // MARK: Issuing

    public struct IssuedToken: Sendable {
        public var token: String
        public var expiresIn: Int
        public var issuedAt: Date
    }

    public func issueAccessToken(subject: String?, access: [ResourceAccess], now: Date = Date()) async throws -> IssuedToken {
        let lifetime = Double(settings.lifetime.components.seconds)
        let claims = TokenClaims(
            iss: IssuerClaim(value: settings.issuer), sub: SubjectClaim(value: subject ?? ""),
            aud: AudienceClaim(value: settings.service), exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
            nbf: NotBeforeClaim(value: now.addingTimeInterval(-10)), iat: IssuedAtClaim(value: now),
            jti: IDClaim(value: UUID().uuidString), access: access, typ: nil)
        let token = try await keys.sign(claims, kid: Self.signingKid)
        return IssuedToken(token: token, expiresIn: Int(lifetime), issuedAt: now)
    }

    /// A long-lived token that only the token endpoint accepts, to get new access tokens.
    public func issueRefreshToken(subject: String, now: Date = Date()) async throws -> String {
        let claims = TokenClaims(
            iss: IssuerClaim(value: settings.issuer), sub: SubjectClaim(value: subject),
            aud: AudienceClaim(value: settings.service),
            exp: ExpirationClaim(value: now.addingTimeInterval(Double(settings.refreshLifetime.components.seconds))),
            nbf: NotBeforeClaim(value: now.addingTimeInterval(-10)), iat: IssuedAtClaim(value: now),
            jti: IDClaim(value: UUID().uuidString), access: [], typ: TokenClaims.refreshType)
        return try await keys.sign(claims, kid: Self.signingKid)
    }

    // MARK: Verifying

    /// Verifies signature, algorithm (no `none`), time window, issuer and audience of an
    /// access token and returns its claims. A refresh token is not an access token.
    public func verifyAccessToken(_ token: String, now: Date = Date()) async -> VerifiedToken? {
        guard let claims = await verify(token, now: now), claims.typ == nil else { return nil }
        return VerifiedToken(subject: claims.sub.value.isEmpty ? nil : claims.sub.value, access: claims.access)
    }

    /// The subject of a valid refresh token.
    public func verifyRefreshToken(_ token: String, now: Date = Date()) async -> String? {
        guard let claims = await verify(token, now: now), claims.typ == TokenClaims.refreshType, !claims.sub.value.isEmpty else {
            return nil
        }
        return claims.sub.value
    }

    private func verify(_ token: String, now: Date) async -> TokenClaims? {
        // Every key is tried: an external token server names its keys as it likes. Each key is
        // ES256 or from the configured JWKS, so trying them all admits no other algorithm.
        guard let claims = try? await keys.verify(token, as: TokenClaims.self, iteratingKeys: true) else { return nil }
        guard claims.iss.value == settings.issuer, claims.aud.value.contains(settings.service),
              claims.exp.value > now, claims.nbf.value <= now
        else { return nil }
        return claims
    }
}

/// What a verified access token grants.
public struct VerifiedToken: Sendable, Equatable {
    public var subject: String?
    public var access: [ResourceAccess]

    public func grants(_ action: Action, onRepository name: String) -> Bool {
        access.contains { $0.type == "repository" && $0.name == name && $0.actions.contains(action.rawValue) }
    }

    public var grantsCatalog: Bool {
        access.contains { $0.type == "registry" && $0.name == "catalog" && $0.actions.contains("*") }
    }

    public var grantsAdmin: Bool {
        access.contains { $0.type == "registry" && $0.name == "admin" && $0.actions.contains("*") }
    }
}

/// One entry of a token's `access` claim: `{"type":"repository","name":"team/app","actions":["pull"]}`.
public struct ResourceAccess: Codable, Sendable, Equatable {
    public var type: String
    public var name: String
    public var actions: [String]

    public init(type: String, name: String, actions: [String]) {
        self.type = type
        self.name = name
        self.actions = actions
    }

    /// Parses a scope `type:name:action,action` (a name may itself contain `:`).
    public init?(scope: String) {
        let parts = scope.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        type = String(parts[0])
        name = parts[1..<(parts.count - 1)].joined(separator: ":")
        actions = parts[parts.count - 1].split(separator: ",").map(String.init)
        guard !type.isEmpty, !name.isEmpty else { return nil }
    }

    public var scope: String { "\(type):\(name):\(actions.joined(separator: ","))" }
}

struct TokenClaims: JWTPayload {
    static let refreshType = "refresh"

    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim
    var iat: IssuedAtClaim?
    var jti: IDClaim?
    var access: [ResourceAccess]
    /// `refresh` for refresh tokens; absent for access tokens.
    var typ: String?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        // Time, issuer and audience are checked by TokenAuthority against its settings.
    }
}
