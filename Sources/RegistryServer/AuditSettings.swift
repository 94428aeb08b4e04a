/// `audit`: the audit log of who pulled, pushed, deleted and signed in (see `AuditRecorder`).
public struct AuditSettings: Sendable, Equatable {
    /// `audit.enabled`: record requests (a read-only registry records nothing: it cannot write).
    public var enabled = true
    /// `audit.retention`: records older than this are deleted.
    public var retention: Duration = .seconds(90 * 86400)

    public init() {}
}
