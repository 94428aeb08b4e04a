import Foundation
import NIOCore

/// An event notification about to be written to the outbox: the body is delivered byte for
/// byte as stored (so a retry sends the same event, with the same id), and `action` and
/// `repository` are what endpoints filter on. The storage layer knows nothing of the format.
public struct OutboxEvent: Sendable, Equatable {
    /// The filter class: `push`, `pull`, `delete`, `mount` or `cache`.
    public var action: String
    public var repository: String
    public var body: ByteBuffer
    public var createdAt: Date

    public init(action: String, repository: String, body: ByteBuffer, createdAt: Date) {
        self.action = action
        self.repository = repository
        self.body = body
        self.createdAt = createdAt
    }
}

/// An event in the outbox, numbered in commit order.
public struct StoredEvent: Sendable, Equatable {
    /// Grows with every event and is never reused, also after deletions: an endpoint's cursor
    /// ("delivered through N") stays meaningful whatever was pruned.
    public var sequence: Int64
    public var event: OutboxEvent

    public init(sequence: Int64, event: OutboxEvent) {
        self.sequence = sequence
        self.event = event
    }
}

/// The transactional outbox of event notifications. Changes write their events in the
/// transaction that makes them (the `events:` parameters of ``MetadataStore``); events that
/// describe no stored change (pulls, mounts) are appended in batches. Each endpoint's delivery
/// keeps a cursor, the last sequence it is done with, so delivery is in order per endpoint
/// and survives restarts.
///
/// Writes take the store's single write lock, so sequences are assigned in commit order: a
/// reader that saw sequence N never sees a smaller one commit later.
public protocol EventOutbox: Sendable {
    /// Appends events in one transaction, in the order given.
    func appendEvents(_ events: [OutboxEvent]) async throws
    /// Events after `sequence` in sequence order, at most `limit`.
    func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent]
    /// The last sequence an endpoint is done with; nil for an endpoint never seen.
    func eventCursor(_ endpoint: String) async throws -> Int64?
    func setEventCursor(_ endpoint: String, to sequence: Int64) async throws
    /// Deletes the events up to and including `sequence` (every endpoint is done with them).
    @discardableResult
    func deleteEvents(through sequence: Int64) async throws -> Int
    /// How many events follow `sequence`.
    func eventCount(after sequence: Int64) async throws -> Int
}
