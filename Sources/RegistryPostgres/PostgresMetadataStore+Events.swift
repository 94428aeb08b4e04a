import Foundation
import Logging
import NIOCore
import PostgresNIO
import RegistryStorage

/// The event outbox on PostgreSQL (tables `event_outbox` and `event_cursors`, schema version 2).
extension PostgresMetadataStore: EventOutbox {
    /// Inserts events inside a write transaction (the change's own, or ``appendEvents(_:)``'s),
    /// in one statement, numbered in the order given.
    static func appendEvents(_ events: [OutboxEvent], on db: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        try await db.query(
            """
            INSERT INTO event_outbox (action, repository, body, created_at)
            SELECT action, repository, body, created_at
            FROM unnest(\(events.map(\.action))::text[], \(events.map(\.repository))::text[],
                \(events.map(\.body))::bytea[], \(events.map { Self.milliseconds($0.createdAt) })::bigint[])
                WITH ORDINALITY AS e(action, repository, body, created_at, position)
            ORDER BY position
            """,
            logger: logger)
    }

    public func appendEvents(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        let logger = self.logger
        try await transaction { db in try await Self.appendEvents(events, on: db, logger: logger) }
    }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        for try await (sequence, action, repository, body, created) in try await query(
            """
            SELECT sequence, action, repository, body, created_at FROM event_outbox
            WHERE sequence > \(sequence) ORDER BY sequence LIMIT \(Int64(max(limit, 0)))
            """
        ).decode((Int64, String, String, ByteBuffer, Int64).self) {
            events.append(StoredEvent(
                sequence: sequence,
                event: OutboxEvent(action: action, repository: repository, body: body, createdAt: Self.date(milliseconds: created))))
        }
        return events
    }

    public func eventCursor(_ endpoint: String) async throws -> Int64? {
        try await query("SELECT delivered_through FROM event_cursors WHERE endpoint = \(endpoint)")
            .decode(Int64.self).first { _ in true }
    }

    public func setEventCursor(_ endpoint: String, to sequence: Int64) async throws {
        let logger = self.logger
        try await transaction { db in
            try await db.query(
                """
                INSERT INTO event_cursors (endpoint, delivered_through) VALUES (\(endpoint), \(sequence))
                ON CONFLICT (endpoint) DO UPDATE SET delivered_through = EXCLUDED.delivered_through
                """,
                logger: logger)
        }
    }

    @discardableResult
    public func deleteEvents(through sequence: Int64) async throws -> Int {
        let logger = self.logger
        return try await transaction { db in
            try await db.query("DELETE FROM event_outbox WHERE sequence <= \(sequence) RETURNING sequence", logger: logger)
                .collect().count
        }
    }

    public func eventCount(after sequence: Int64) async throws -> Int {
        let count = try await query("SELECT count(*) FROM event_outbox WHERE sequence > \(sequence)")
            .decode(Int64.self).first { _ in true }
        return Int(count ?? 0)
    }
}
