import Foundation
import NIOCore
import SQLiteNIO

/// The event outbox on SQLite (tables `event_outbox` and `event_cursors` in ``SQLiteSchema``).
extension SQLiteMetadataStore: EventOutbox {
    /// Inserts events on a connection inside a write transaction: the transaction of the change
    /// they describe, or ``appendEvents(_:)``'s own.
    static func appendEvents(_ events: [OutboxEvent], on db: SQLiteConnection) async throws {
        for batch in events.chunked(rowsPerStatement / 4) {
            let rows = Array(repeating: "(?, ?, ?, ?)", count: batch.count).joined(separator: ", ")
            _ = try await db.query(
                "INSERT INTO event_outbox (action, repository, body, created_at) VALUES \(rows)",
                batch.flatMap { event -> [SQLiteData] in
                    [.text(event.action), .text(event.repository), .blob(event.body), .int64(milliseconds(event.createdAt))]
                })
        }
    }

    public func appendEvents(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        try await transaction { db in try await Self.appendEvents(events, on: db) }
    }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await reader.query(
            "SELECT sequence, action, repository, body, created_at FROM event_outbox WHERE sequence > ? ORDER BY sequence LIMIT ?",
            [.int64(sequence), .int64(Int64(limit))]
        ).map { row in
            guard let sequence = row.column("sequence")?.int64, let action = row.column("action")?.string,
                  let repository = row.column("repository")?.string, case .blob(let body)? = row.column("body"),
                  let created = row.column("created_at")?.int64
            else { throw MetadataError.corrupt("event row is incomplete") }
            return StoredEvent(
                sequence: sequence,
                event: OutboxEvent(
                    action: action, repository: repository, body: body,
                    createdAt: Date(timeIntervalSince1970: Double(created) / 1000)))
        }
    }

    public func eventCursor(_ endpoint: String) async throws -> Int64? {
        try await reader.query("SELECT delivered_through FROM event_cursors WHERE endpoint = ?", [.text(endpoint)])
            .first?.column("delivered_through")?.int64
    }

    public func setEventCursor(_ endpoint: String, to sequence: Int64) async throws {
        try await transaction { db in
            _ = try await db.query(
                """
                INSERT INTO event_cursors (endpoint, delivered_through) VALUES (?, ?)
                ON CONFLICT (endpoint) DO UPDATE SET delivered_through = excluded.delivered_through
                """,
                [.text(endpoint), .int64(sequence)])
        }
    }

    @discardableResult
    public func deleteEvents(through sequence: Int64) async throws -> Int {
        try await transaction { db in
            try await db.query("DELETE FROM event_outbox WHERE sequence <= ? RETURNING sequence", [.int64(sequence)]).count
        }
    }

    public func eventCount(after sequence: Int64) async throws -> Int {
        try await reader.query("SELECT count(*) AS n FROM event_outbox WHERE sequence > ?", [.int64(sequence)])
            .first?.column("n")?.integer ?? 0
    }
}
