/// The outbox is not cached: delivery reads each event once, and nothing a request serves
/// depends on it.
extension Metadata: EventOutbox {
    public func appendEvents(_ events: [OutboxEvent]) async throws { try await base.appendEvents(events) }

    public func events(after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await base.events(after: sequence, limit: limit)
    }

    public func eventCursor(_ endpoint: String) async throws -> Int64? { try await base.eventCursor(endpoint) }

    public func setEventCursor(_ endpoint: String, to sequence: Int64) async throws {
        try await base.setEventCursor(endpoint, to: sequence)
    }

    @discardableResult
    public func deleteEvents(through sequence: Int64) async throws -> Int { try await base.deleteEvents(through: sequence) }

    public func eventCount(after sequence: Int64) async throws -> Int { try await base.eventCount(after: sequence) }
}
