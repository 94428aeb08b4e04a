import Foundation

/// One entry of the audit log: who did what to which repository, from where, and how it ended.
public struct AuditRecord: Sendable, Equatable, Codable {
    /// Assigned by the database when the record is stored; increases with every record, so it
    /// is the paging cursor of listings.
    public var id: Int64?
    public var time: Date
    /// The signed-in user or robot; nil for anonymous clients.
    public var user: String?
    /// Whether `user` is a robot account.
    public var isRobot: Bool
    public var address: String
    public var userAgent: String
    /// `pull`, `push`, `delete`, `login`, `gc`, `delete-repository`, ... (see `AuditAction`).
    public var action: String
    public var repository: String?
    /// A tag or digest.
    public var reference: String?
    /// The HTTP status of the answer.
    public var status: Int

    public init(
        id: Int64? = nil, time: Date, user: String?, isRobot: Bool, address: String, userAgent: String,
        action: String, repository: String?, reference: String?, status: Int
    ) {
        self.id = id
        self.time = time
        self.user = user
        self.isRobot = isRobot
        self.address = address
        self.userAgent = userAgent
        self.action = action
        self.repository = repository
        self.reference = reference
        self.status = status
    }
}

/// Which audit records a listing returns. Every filter is optional; `newestFirst` lists from
/// the most recent backwards (the command line's "last N"), otherwise oldest first (paging).
public struct AuditQuery: Sendable, Equatable {
    public var since: Date?
    public var user: String?
    public var repository: String?
    public var action: String?
    /// Only records with a larger id (the cursor of oldest-first paging).
    public var afterID: Int64?
    /// Only records with a smaller id (the cursor of newest-first paging).
    public var beforeID: Int64?
    public var limit: Int
    public var newestFirst: Bool

    public init(
        since: Date? = nil, user: String? = nil, repository: String? = nil, action: String? = nil,
        afterID: Int64? = nil, beforeID: Int64? = nil, limit: Int = 100, newestFirst: Bool = false
    ) {
        self.since = since
        self.user = user
        self.repository = repository
        self.action = action
        self.afterID = afterID
        self.beforeID = beforeID
        self.limit = limit
        self.newestFirst = newestFirst
    }
}

/// Where the audit log is kept: the metadata database (`audit_log` on PostgreSQL, `audit_contexts`
/// and `audit_runs` on SQLite). Appends come in
/// batches from one recorder per process; they take no part in the registry's write rules, so
/// backends may write them outside the registry's write lock.
public protocol AuditLogStore: Sendable {
    /// Stores `records` in one transaction.
    func appendAuditRecords(_ records: [AuditRecord]) async throws
    func auditRecords(_ query: AuditQuery) async throws -> [AuditRecord]
    /// Deletes records older than `date`; returns how many.
    @discardableResult
    func pruneAuditRecords(before date: Date) async throws -> Int
}
