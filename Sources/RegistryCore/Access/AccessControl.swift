import Foundation
import Logging
import RegistryModel

/// Authentication (Basic credentials against htpasswd, or a verified client certificate) and
/// authorization (the ``AccessPolicy``) for registry requests. Passwords never reach a log.
public struct AccessControl: Sendable {
    public let htpasswd: Htpasswd?
    public let policy: AccessPolicy
    public let throttle: LoginThrottle
    public let realm: String

    public init(htpasswd: Htpasswd?, policy: AccessPolicy, throttle: LoginThrottle = LoginThrottle(), realm: String = "registry") {
        self.htpasswd = htpasswd
        self.policy = policy
        self.throttle = throttle
        self.realm = realm
    }

    /// Who is asking: a user proved by password or certificate, or nobody.
    public enum Identity: Sendable, Equatable {
        case anonymous
        case user(String)

        public var name: String? {
            if case .user(let name) = self { name } else { nil }
        }
    }

    /// Resolves the request's identity. Wrong credentials are an error (401), never anonymous.
    public func authenticate(authorization: String?, certificateName: String?, address: String) throws(RegistryError) -> Identity {
        guard let authorization else {
            return certificateName.map { .user($0) } ?? .anonymous
        }
        guard let (user, password) = Self.basicCredentials(authorization) else {
            throw unauthorized("unsupported or malformed Authorization header")
        }
        // containers/image (podman, skopeo, buildah) answers a Basic challenge without
        // credentials by sending empty ones: that is an anonymous request.
        if user.isEmpty && password.isEmpty {
            return certificateName.map { .user($0) } ?? .anonymous
        }
        if let retryAfter = throttle.retryAfter(address: address, user: user) {
            throw RegistryError(
                .tooManyRequests, message: "too many failed logins; try again later",
                headers: [("Retry-After", "\(retryAfter)")])
        }
        guard let htpasswd, htpasswd.verify(user: user, password: password) else {
            throttle.recordFailure(address: address, user: user)
            throw unauthorized("invalid user name or password")
        }
        throttle.recordSuccess(address: address, user: user)
        return .user(user)
    }

    /// Throws 401 (anonymous) or 403 (signed in) unless `identity` may do all of `actions`.
    public func authorize(_ actions: Set<Action>, on repository: RepositoryName, for identity: Identity) throws(RegistryError) {
        let allowed = policy.allowedActions(for: identity.name, on: repository.value)
        guard actions.isSubset(of: allowed) else {
            let missing = actions.subtracting(allowed).sorted().map(\.rawValue).joined(separator: ",")
            if identity == .anonymous {
                throw unauthorized("authentication required to \(missing) \(repository)")
            }
            throw RegistryError(
                .denied, message: "\(identity.name ?? "?") may not \(missing) \(repository)",
                detail: ["repository": repository.value, "actions": missing])
        }
    }

    /// Whether `identity` may do `action` on `repository` (for filters such as the catalog).
    public func permits(_ action: Action, on repository: String, for identity: Identity) -> Bool {
        policy.allowedActions(for: identity.name, on: repository).contains(action)
    }

    /// Requires a signed-in user (the base endpoint answers 401 to anonymous clients so that
    /// `docker login` knows to send credentials).
    public func requireSignedIn(_ identity: Identity) throws(RegistryError) {
        if identity == .anonymous { throw unauthorized("authentication required") }
    }

    public func unauthorized(_ message: String) -> RegistryError {
        RegistryError(.unauthorized, message: message, headers: [("WWW-Authenticate", "Basic realm=\"\(realm)\", charset=\"UTF-8\"")])
    }

    static func basicCredentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let data = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
              let decoded = String(data: data, encoding: .utf8), let colon = decoded.firstIndex(of: ":")
        else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }
}
