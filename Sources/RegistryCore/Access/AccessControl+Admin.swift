/// The admin notion the registry's policies use (immutable-tag overrides, rate-limit exemption).
extension AccessControl {
    /// Whether `identity` is an admin the way ``requireAdmin(_:)`` means it (a policy admin, or
    /// in token mode a token granting `registry:admin:*`), and signed in: on an open registry,
    /// where ``requireAdmin(_:)`` lets everyone through, nobody is an admin here, so that an
    /// immutable tag or a rate limit configured there binds everyone.
    public func isAdmin(_ identity: Identity) -> Bool {
        if case .open = mode { return false }
        do {
            try requireAdmin(identity)
            return true
        } catch {
            return false
        }
    }
}
