import Foundation
import NIOConcurrencyHelpers
import RegistryStorage

/// Turns what the registry does into outbox rows, for the endpoints that want them.
///
/// Changes (pushes, deletes, cache fills) get their rows from ``outboxEvents(_:)`` and write
/// them in their own transaction. Pulls and mounts change nothing an event could share a
/// transaction with, and a pull must not wait for a write: ``record(_:)`` queues them in
/// memory and ``run()`` writes the queue once a second (a crash loses at most that second's).
/// Events no endpoint wants are never built.
public final class EventRecorder: Sendable {
    /// Past this many queued events, new ones are dropped (and counted) until the next flush:
    /// memory is bounded even when the database cannot be written.
    static let capacity = 100_000
    static let flushInterval: Duration = .seconds(1)

    private let outbox: any EventOutbox
    private let encoder: CloudEventEncoder
    private let filters: [EventFilter]
    private let queue = NIOLockedValueBox<[OutboxEvent]>([])
    private let overflow = NIOLockedValueBox(0)
    /// Serialises ``flush()``.
    private let writing = AsyncSerialLock()

    public init(outbox: any EventOutbox, encoder: CloudEventEncoder, filters: [EventFilter]) {
        self.outbox = outbox
        self.encoder = encoder
        self.filters = filters
    }

    /// Events dropped because the queue was full.
    public var overflowed: Int { overflow.withLockedValue { $0 } }

    /// Whether any endpoint would receive such an event.
    public func isWanted(_ action: EventAction, in repository: String) -> Bool {
        filters.contains { $0.matches(action: action, repository: repository) }
    }

    /// The rows to write with a change: only the events some endpoint wants.
    public func outboxEvents(_ events: [RegistryEvent]) -> [OutboxEvent] {
        events.compactMap { event in
            guard isWanted(event.kind.action, in: event.repository.value) else { return nil }
            return OutboxEvent(
                action: event.kind.action.rawValue, repository: event.repository.value, body: encoder.encode(event),
                createdAt: event.time)
        }
    }

    /// Queues an event that describes no stored change, for the next flush.
    public func record(_ event: RegistryEvent) {
        guard let row = outboxEvents([event]).first else { return }
        let accepted = queue.withLockedValue { queue in
            guard queue.count < Self.capacity else { return false }
            queue.append(row)
            return true
        }
        if !accepted { overflow.withLockedValue { $0 += 1 } }
    }

    /// Writes the queued events in one transaction. On failure they are put back (in front of
    /// newer ones, keeping the order) for the next flush.
    ///
    /// Flushes run one at a time: the last flush at shutdown waits for one the cancelled loop
    /// may have in flight, which fails (a cancelled task cannot write to SQLite) and puts its
    /// batch back, and then writes that batch too. Without the wait the batch was lost.
    public func flush() async throws {
        try await writing.withLock { [self] in
            let batch = queue.withLockedValue { queue in
                defer { queue.removeAll() }
                return queue
            }
            guard !batch.isEmpty else { return }
            do {
                try await outbox.appendEvents(batch)
            } catch {
                queue.withLockedValue { queue in
                    queue = Array((batch + queue).prefix(Self.capacity))
                }
                throw error
            }
        }
    }

    /// Flushes once a second until cancelled. The caller flushes once more after cancelling
    /// (a cancelled task cannot write to SQLite).
    public func run(onError: @Sendable (any Error) -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.flushInterval)
            guard !Task.isCancelled else { break }
            do {
                try await flush()
            } catch {
                onError(error)
            }
        }
    }
}
