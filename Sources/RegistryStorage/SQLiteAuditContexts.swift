import NIOConcurrencyHelpers

/// What an audit record shares with the others of its kind: everything but its time. The
/// SQLite audit log stores each distinct one once (`audit_contexts`, see `SQLiteSchema.auditLog`).
struct AuditContext: Hashable, Sendable {
    var user: String?
    var isRobot: Bool
    var address: String
    var userAgent: String
    var action: String
    var repository: String?
    var reference: String?
    var status: Int

    init(_ record: AuditRecord) {
        user = record.user
        isRobot = record.isRobot
        address = record.address
        userAgent = record.userAgent
        action = record.action
        repository = record.repository
        reference = record.reference
        status = record.status
    }

    /// Equal when every value is, text byte for byte, as SQLite compares it: Swift's `==` holds
    /// canonically equivalent strings equal ("é" as one scalar or as "e" and an accent), and
    /// an audit log keeps what the client sent.
    static func == (a: Self, b: Self) -> Bool {
        a.status == b.status && a.isRobot == b.isRobot && sameBytes(a.action, b.action)
            && sameBytes(a.reference, b.reference) && sameBytes(a.repository, b.repository) && sameBytes(a.user, b.user)
            && sameBytes(a.address, b.address) && sameBytes(a.userAgent, b.userAgent)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(status)
        hasher.combine(isRobot)
        for text in [action, reference, repository, user, address, userAgent] {
            guard var text else {
                hasher.combine(-1)
                continue
            }
            text.withUTF8 { bytes in
                hasher.combine(bytes.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
            }
        }
    }

    private static func sameBytes(_ a: String?, _ b: String?) -> Bool {
        guard var a, var b else { return a == nil && b == nil }
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }
}

/// The ids of the audit contexts this process has written or found, so that a batch looks up
/// only the contexts it has not seen before. An id may be stale (pruning, perhaps by another
/// process, deleted its context): the batch that uses it checks, see
/// ``SQLiteMetadataStore/appendAuditRecords(_:)``. Bounded: past ``capacity`` it starts over.
final class AuditContextIDs: Sendable {
    static let capacity = 10_000
    private let ids = NIOLockedValueBox<[AuditContext: Int64]>([:])

    /// The known id of each context, nil where none is known.
    func lookUp(_ contexts: [AuditContext]) -> [Int64?] {
        ids.withLockedValue { ids in contexts.map { ids[$0] } }
    }

    /// Remembers the ids of a committed batch's contexts.
    func remember(_ contexts: [AuditContext], ids found: [Int64]) {
        ids.withLockedValue { ids in
            if ids.count + contexts.count > Self.capacity { ids.removeAll() }
            for (context, id) in zip(contexts, found) { ids[context] = id }
        }
    }
}
