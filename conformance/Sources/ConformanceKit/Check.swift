/// One requirement of the spec, checked against the registry.
public struct Check: Sendable {
    /// Named after the behaviour it checks; checks run with sha512 content end in `_sha512`.
    public let name: String
    /// The spec endpoint it exercises (`end-1` ... `end-14`).
    public let endpoint: String
    public let feature: Feature
    /// The first spec version that requires the behaviour.
    public let since: SpecVersion
    let body: @Sendable (CheckContext) async throws -> Void

    public var workflow: Workflow { feature.workflow }

    init(
        _ name: String, _ endpoint: String, _ feature: Feature, since: SpecVersion? = nil,
        _ body: @escaping @Sendable (CheckContext) async throws -> Void
    ) {
        if let algorithm = feature.algorithm, algorithm != .sha256 {
            self.name = "\(name)_\(algorithm.rawValue)"
        } else {
            self.name = name
        }
        self.endpoint = endpoint
        self.feature = feature
        self.since = max(since ?? feature.since, feature.since)
        self.body = body
    }
}

/// How a check ended.
public enum CheckOutcome: Sendable, Equatable {
    case passed
    case failed(String)
    case skipped(String)
}

/// A check's result with the HTTP exchanges it made (for reports).
public struct CheckResult: Sendable {
    public let check: Check
    public let outcome: CheckOutcome
    public let exchanges: [Exchange]
    public let duration: Duration

    /// `PASS name`, `FAIL name: ...` or `SKIP name: ...`.
    public var line: String {
        switch outcome {
        case .passed: "PASS \(check.name) [\(check.endpoint)]"
        case .failed(let message): "FAIL \(check.name) [\(check.endpoint)]: \(message)"
        case .skipped(let reason): "SKIP \(check.name) [\(check.endpoint)]: \(reason)"
        }
    }
}

/// Thrown by a check that found the registry deviating from the spec.
struct CheckFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    init(expected: String, got: String) {
        description = "expected \(expected), got \(got)"
    }
}

/// Thrown by a check whose optional feature the registry does not offer.
struct CheckSkipped: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
