import RegistryModel

/// Robot accounts in access control: how a robot's secret is checked (in place of htpasswd) and
/// what a robot may do (its own list, never the policy's).
extension AccessControl {
    /// What `identity` may do on `repository` in Basic mode: a robot's own rights, otherwise the
    /// policy's for the user (or anonymous).
    func allowedActions(for identity: Identity, on repository: String) -> Set<Action> {
        if case .robot(let robot) = identity { return robot.allowedActions(on: repository) }
        return policy.allowedActions(for: identity.name, on: repository)
    }

    /// Checks a robot's secret, throttling failures as for passwords. Disabled and expired robots
    /// are refused with a message saying so (only to a client that knows the secret).
    func verifyRobot(name: String, secret: String, address: String) async throws(RegistryError) -> RobotAccount {
        guard let robots else {
            throttle.recordFailure(address: address, user: name)
            throw RegistryError(.unauthorized, message: "robot accounts are not enabled on this registry", headers: basicChallenge)
        }
        switch try await robots.verify(name: name, secret: secret) {
        case .success(let robot):
            throttle.recordSuccess(address: address, user: name)
            return robot
        case .failure(let refusal):
            // Only a wrong secret is a guess; a disabled or expired robot's right one is not.
            if refusal == .unknownOrWrongSecret { throttle.recordFailure(address: address, user: name) }
            throw RegistryError(.unauthorized, message: Self.message(for: refusal, name: name), headers: basicChallenge)
        }
    }

    /// The robot a token names as its subject, still enabled and unexpired: a robot disabled or
    /// removed loses its tokens within ``RobotAccounts/cacheLifetime``. Nil for other subjects.
    public func activeRobot(subject: String?) async throws(RegistryError) -> RobotAccount? {
        guard let subject, RobotAccount.isRobotName(subject) else { return nil }
        guard let robots else { throw unauthorized("robot accounts are not enabled on this registry", error: "invalid_token") }
        switch try await robots.active(named: subject) {
        case .success(let robot): return robot
        case .failure(let refusal): throw unauthorized(Self.message(for: refusal, name: subject), error: "invalid_token")
        }
    }

    private static func message(for refusal: RobotAccounts.Refusal, name: String) -> String {
        switch refusal {
        case .unknownOrWrongSecret: "invalid user name or password"
        case .disabled: "robot account \(name) is disabled"
        case .expired: "robot account \(name) has expired"
        }
    }
}
