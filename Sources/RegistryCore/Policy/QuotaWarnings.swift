import Logging
import NIOConcurrencyHelpers
import RegistryModel

/// A repository whose stored bytes reached its quota's warning share (`quotas.warn_percent`).
public struct QuotaWarning: Sendable, Equatable {
    public var repository: RepositoryName
    public var quota: StorageQuota
    /// Bytes linked after the write that crossed the threshold.
    public var used: Int64
}

/// Where quota warnings go: a log line, a counter, and any handlers registered (the metrics and
/// the event outbox subscribe here). A warning is raised when a write takes a repository from
/// under the threshold to at or over it, so a repository hovering above it warns once per
/// crossing, not on every push. Two concurrent writes may both see themselves as the crossing
/// one: handlers must tolerate an occasional duplicate.
public final class QuotaWarnings: Sendable {
    private struct State {
        var count = 0
        var handlers: [@Sendable (QuotaWarning) -> Void] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// How many warnings were raised since start.
    public var count: Int { state.withLockedValue { $0.count } }

    /// Calls `handler` for every warning from now on (on the request's task: keep it quick).
    public func onWarning(_ handler: @escaping @Sendable (QuotaWarning) -> Void) {
        state.withLockedValue { $0.handlers.append(handler) }
    }

    func raise(_ warning: QuotaWarning, logger: Logger) {
        logger.warning("repository reached the warning level of its storage quota", metadata: [
            "repository": "\(warning.repository)", "quota": "\(warning.quota.name)",
            "used": "\(warning.used)", "limit": "\(warning.quota.limit)", "percent": "\(warning.quota.percent(of: warning.used))",
        ])
        let handlers = state.withLockedValue { state in
            state.count += 1
            return state.handlers
        }
        for handler in handlers { handler(warning) }
    }
}
