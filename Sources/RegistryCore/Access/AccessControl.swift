import Foundation
import Logging
import RegistryModel

/// Authentication and authorization for registry requests. Passwords never reach a log.
///
/// Every request goes through one of these, in one of three modes (``Mode``): open (no logins
/// configured: ``allowAll``, everyone may do everything), Basic (credentials checked against
/// htpasswd, or a verified client certificate; rights from the ``AccessPolicy``), and token (the
/// Docker registry token flow: every request carries a Bearer JWT whose `access` claim lists what
/// it may do; the built-in token endpoint grants what was asked for and the policy allows).
/// Handlers ask it every question and decide nothing themselves, so that no missing check can
/// quietly let a request through.
public struct AccessControl: Sendable {
    /// How requests prove who they are.
    public enum Mode: Sendable {
        /// No authentication configured: every request may do everything, as anonymous.
        case open
        /// Basic credentials against htpasswd, or a client certificate.
        case basic
        /// Bearer tokens from the built-in token endpoint or a trusted external one.
        case token(TokenAuthority)
    }

    public let mode: Mode
    public let htpasswd: Htpasswd?
    public let policy: AccessPolicy
    public let throttle: LoginThrottle
    public let realm: String
    /// Robot accounts that may sign in (Basic and token modes); nil where they may not.
    public var robots: RobotAccounts?

    /// Basic mode, or token mode when `tokens` is given.
    public init(
        htpasswd: Htpasswd?, policy: AccessPolicy, throttle: LoginThrottle = LoginThrottle(), realm: String = "registry",
        tokens: TokenAuthority? = nil
    ) {
        self.init(mode: tokens.map { .token($0) } ?? .basic, htpasswd: htpasswd, policy: policy, throttle: throttle, realm: realm)
    }

    private init(mode: Mode, htpasswd: Htpasswd?, policy: AccessPolicy, throttle: LoginThrottle, realm: String) {
        self.mode = mode
        self.htpasswd = htpasswd
        self.policy = policy
        self.throttle = throttle
        self.realm = realm
    }

    /// For a registry without logins: everyone, signed in or not, may do everything.
    public static let allowAll = AccessControl(
        mode: .open, htpasswd: nil, policy: AccessPolicy(anonymousPull: true), throttle: LoginThrottle(), realm: "registry")

    /// Set in token mode.
    public var tokens: TokenAuthority? {
        if case .token(let tokens) = mode { tokens } else { nil }
    }

    private var isOpen: Bool {
        if case .open = mode { true } else { false }
    }

    /// Who is asking: a user proved by password or certificate, the bearer of a token, or nobody.
    public enum Identity: Sendable, Equatable {
        case anonymous
        case user(String)
        /// A robot account proved by its secret (Basic); in token mode robots are `.token`s.
        case robot(RobotAccount)
        case token(VerifiedToken)
        /// A visitor of the web UI: signed in by a session cookie (the user's name) or not (nil).
        /// A browser carries no token, so in every mode the policy decides what a visitor may
        /// do: the same rules the built-in token endpoint grants by.
        case webVisitor(String?)

        public var name: String? {
            switch self {
            case .anonymous: nil
            case .user(let name): name
            case .robot(let robot): robot.name
            case .token(let token): token.subject
            case .webVisitor(let name): name
            }
        }

        /// Whether rights come from a token (token mode) rather than from the policy.
        fileprivate var isJudgedByTheirToken: Bool {
            if case .webVisitor = self { false } else { true }
        }

        /// Whether a robot account is asking (by Basic credentials, or as a token's subject).
        public var isRobot: Bool { RobotAccount.isRobotName(name) }
    }

    /// Resolves the request's identity. Wrong credentials are an error (401), never anonymous.
    /// In open mode everyone is anonymous (and may do everything); credentials are not looked at.
    public func authenticate(authorization: String?, certificateName: String?, address: String) async throws(RegistryError) -> Identity {
        if isOpen { return .anonymous }
        guard let authorization else {
            return certificateName.map { .user($0) } ?? .anonymous
        }
        if let tokens {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw unauthorized("a Bearer token from \(tokens.settings.realm) is required")
            }
            guard let verified = await tokens.verifyAccessToken(String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
                throw unauthorized("invalid or expired token", error: "invalid_token")
            }
            _ = try await activeRobot(subject: verified.subject)
            return .token(verified)
        }
        guard let user = try await basicUser(from: authorization, address: address) else {
            return certificateName.map { .user($0) } ?? .anonymous
        }
        if RobotAccount.isRobotName(user), let robot = try await activeRobot(subject: user) { return .robot(robot) }
        return .user(user)
    }

    /// The user whose Basic credentials `authorization` carries, verified; nil for empty
    /// credentials, which containers/image (podman, skopeo, buildah) sends when it has none.
    public func basicUser(from authorization: String, address: String) async throws(RegistryError) -> String? {
        guard let (user, password) = Self.basicCredentials(authorization) else {
            throw RegistryError(.unauthorized, message: "unsupported or malformed Authorization header", headers: basicChallenge)
        }
        if user.isEmpty && password.isEmpty { return nil }
        return try await verifyPassword(user: user, password: password, address: address)
    }

    /// Checks a password against htpasswd, throttling failures per address and user. A user name
    /// or password containing a NUL byte is refused outright: bcrypt reads only up to the NUL,
    /// so `secret\0anything` would otherwise pass as `secret`.
    public func verifyPassword(user: String, password: String, address: String) async throws(RegistryError) -> String {
        guard !user.utf8.contains(0), !password.utf8.contains(0) else {
            throw RegistryError(
                .unauthorized, message: "user names and passwords may not contain NUL bytes", headers: basicChallenge)
        }
        if let retryAfter = throttle.retryAfter(address: address, user: user) {
            throw RegistryError(
                .tooManyRequests, message: "too many failed logins; try again later",
                headers: [("Retry-After", "\(retryAfter)")])
        }
        // Robot names never reach htpasswd: a robot's secret is checked against its own record.
        if RobotAccount.isRobotName(user) { return try await verifyRobot(name: user, secret: password, address: address).name }
        guard let htpasswd, await htpasswd.verify(user: user, password: password) else {
            throttle.recordFailure(address: address, user: user)
            throw RegistryError(.unauthorized, message: "invalid user name or password", headers: basicChallenge)
        }
        throttle.recordSuccess(address: address, user: user)
        return user
    }

    /// Throws 401 (anonymous, or a token without the scope) or 403 (signed in) unless `identity`
    /// may do all of `actions`.
    public func authorize(_ actions: Set<Action>, on repository: RepositoryName, for identity: Identity) throws(RegistryError) {
        if isOpen { return }
        if tokens != nil, identity.isJudgedByTheirToken {
            let scope = ResourceAccess(type: "repository", name: repository.value, actions: actions.sorted().map(\.rawValue)).scope
            guard case .token(let token) = identity, actions.allSatisfy({ token.grants($0, onRepository: repository.value) }) else {
                let presented = if case .token = identity { true } else { false }
                throw unauthorized(
                    "a token for \(scope) is required", scope: scope, error: presented ? "insufficient_scope" : nil)
            }
            return
        }
        let allowed = allowedActions(for: identity, on: repository.value)
        guard actions.isSubset(of: allowed) else {
            let missing = actions.subtracting(allowed).sorted().map(\.rawValue).joined(separator: ",")
            if identity.name == nil {
                throw unauthorized("authentication required to \(missing) \(repository)")
            }
            throw RegistryError(
                .denied, message: "\(identity.name ?? "?") may not \(missing) \(repository)",
                detail: ["repository": repository.value, "actions": missing])
        }
    }

    /// Whether `identity` may do `action` on `repository` (for filters such as the catalog, and
    /// the source of a mount). A token must grant it; otherwise the policy decides.
    public func permits(_ action: Action, on repository: String, for identity: Identity) -> Bool {
        if isOpen { return true }
        if tokens != nil, identity.isJudgedByTheirToken {
            guard case .token(let token) = identity else { return false }
            return token.grants(action, onRepository: repository)
        }
        return allowedActions(for: identity, on: repository).contains(action)
    }

    /// Requires a signed-in user, or in token mode any valid token (the base endpoint answers
    /// 401 to anonymous clients so that `docker login` knows to authenticate).
    public func requireSignedIn(_ identity: Identity) throws(RegistryError) {
        if isOpen { return }
        if identity == .anonymous { throw unauthorized("authentication required") }
    }

    /// For the catalog: in token mode the token must carry `registry:catalog:*`; the listing is
    /// then filtered by the policy for the token's subject.
    public func requireCatalogAccess(_ identity: Identity) throws(RegistryError) {
        if isOpen { return }
        if tokens != nil {
            guard case .token(let token) = identity, token.grantsCatalog else {
                throw unauthorized("a token for registry:catalog:* is required", scope: "registry:catalog:*")
            }
        } else if identity == .anonymous, !policy.anonymousPull {
            throw unauthorized("authentication required")
        }
    }

    /// For the web UI: anonymous visitors only where anonymous pull is allowed (otherwise 401,
    /// whose Basic challenge makes a browser ask for a login). What the pages show is then
    /// limited by ``catalogShows(_:to:)`` and ``permits(_:on:for:)``.
    public func requireBrowsing(_ identity: Identity) throws(RegistryError) {
        if isOpen { return }
        if identity.name == nil, !policy.anonymousPull { throw unauthorized("authentication required") }
    }

    /// Whether the web UI offers its sign-in form: wherever there are htpasswd logins, in Basic
    /// and in token mode alike (a signed-in visitor's rights come from the policy).
    public var offersUISignIn: Bool { !isOpen && htpasswd != nil }

    /// What a session cookie is bound to: the user's current htpasswd entry. Removing the user
    /// or changing the password ends every session signed in before (nil: no such user).
    public func sessionCredential(of user: String) -> String? {
        offersUISignIn ? htpasswd?.storedHash(of: user) : nil
    }

    /// Who visits the web UI: the user of a verified session cookie, or else what the request's
    /// own credentials say. Without a session or credentials a visitor is anonymous, with
    /// anonymous pull's rights in every mode.
    public func uiVisitor(sessionUser: String?, authenticated identity: Identity) -> Identity {
        if isOpen { return .anonymous }
        if let sessionUser, offersUISignIn { return .webVisitor(sessionUser) }
        return identity == .anonymous ? .webVisitor(nil) : identity
    }

    /// Whether the web UI may show registry-wide figures (stored bytes, sharing) to `identity`:
    /// they add up every repository, so only where everyone sees everything, or to admins.
    public func showsRegistryTotals(to identity: Identity) -> Bool {
        isOpen || isAdmin(identity)
    }

    /// For maintenance endpoints (garbage collection, repository deletion): an admin of the
    /// policy, or in token mode a token carrying `registry:admin:*` (which the built-in token
    /// endpoint grants to admins only).
    public func requireAdmin(_ identity: Identity) throws(RegistryError) {
        if isOpen { return }
        if tokens != nil, identity.isJudgedByTheirToken {
            guard case .token(let token) = identity, token.grantsAdmin else {
                throw unauthorized("a token for registry:admin:* is required", scope: "registry:admin:*")
            }
            return
        }
        if identity.name == nil { throw unauthorized("authentication required") }
        // A robot has only the rights it lists, which are never an admin's.
        guard !identity.isRobot, policy.isAdmin(identity.name) else {
            throw RegistryError(.denied, message: "\(identity.name ?? "?") is not an admin of this registry")
        }
    }

    /// Whether the catalog may show `repository` to `identity`.
    public func catalogShows(_ repository: String, to identity: Identity) -> Bool {
        if isOpen { return true }
        if tokens != nil {
            // A robot's token never carries the catalog scope; this keeps an external one from
            // showing a robot what the policy's defaults would.
            return !identity.isRobot && policy.allowedActions(for: identity.name, on: repository).contains(.pull)
        }
        return permits(.pull, on: repository, for: identity)
    }

    /// Whether `identity` may mount a blob without naming its source (`mount` without `from`):
    /// the blob could come from any repository, so only where everyone may read everything.
    public func mayMountWithoutSource(_ identity: Identity) -> Bool {
        isOpen
    }

    public func unauthorized(_ message: String, scope: String? = nil, error: String? = nil) -> RegistryError {
        RegistryError(.unauthorized, message: message, headers: challenge(scope: scope, error: error))
    }

    var basicChallenge: [(String, String)] {
        [("WWW-Authenticate", "Basic realm=\"\(realm)\", charset=\"UTF-8\"")]
    }

    private func challenge(scope: String?, error: String?) -> [(String, String)] {
        guard let tokens else { return basicChallenge }
        var value = "Bearer realm=\"\(tokens.settings.realm)\",service=\"\(tokens.settings.service)\""
        if let scope { value += ",scope=\"\(scope)\"" }
        if let error { value += ",error=\"\(error)\"" }
        return [("WWW-Authenticate", value)]
    }

    public static func basicCredentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              // Not `String(data:encoding:)`, which drops a leading byte-order mark.
              let decoded = String(validating: data, as: UTF8.self), let colon = decoded.firstIndex(of: ":")
        else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }
}
