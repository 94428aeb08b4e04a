import Foundation
import Logging
import NIOConcurrencyHelpers
import RegistryStorage

/// Collects audit records in memory and writes them in batches: every ``flushInterval``, or as
/// soon as ``batchSize`` are waiting, each batch in one transaction. Recording a request costs
/// a lock and an append, never a database round trip. Batches are large (10 000) because each
/// commit costs a log fsync and, on SQLite, makes the metadata read cache start over: at 45 000
/// pulls a second, batches of 500 meant 90 commits a second and cost manifest pulls 9 %.
///
/// Memory is bounded: at most ``capacity`` records wait. When the database cannot take them
/// (down, or slower than the traffic) and the buffer is full, new records are dropped, counted
/// in ``droppedCount``, and the next flush logs how many were lost.
public final class AuditRecorder: Sendable {
    public let flushInterval: Duration
    public let batchSize: Int
    public let capacity: Int

    private struct State {
        var pending: [AuditRecord] = []
        var dropped = 0
        var droppedSinceLog = 0
    }

    /// Where the records go, and where the admin endpoint reads them.
    public let store: any AuditLogStore
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    /// Wakes the flushing loop early when a batch is full.
    private let wakeUps: AsyncStream<Void>.Continuation
    private let wakeUpStream: AsyncStream<Void>

    public init(
        store: any AuditLogStore, flushInterval: Duration = .seconds(1), batchSize: Int = 10_000, capacity: Int = 50_000,
        logger: Logger
    ) {
        self.store = store
        self.flushInterval = flushInterval
        self.batchSize = batchSize
        self.capacity = capacity
        self.logger = logger
        (wakeUpStream, wakeUps) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues `record` for the next batch (or drops it, counted, when the buffer is full).
    public func record(_ record: AuditRecord) {
        let full = state.withLockedValue { state -> Bool in
            guard state.pending.count < capacity else {
                state.dropped += 1
                state.droppedSinceLog += 1
                return false
            }
            state.pending.append(record)
            return state.pending.count == batchSize
        }
        if full { wakeUps.yield() }
    }

    /// Records dropped since start because the buffer was full.
    public var droppedCount: Int { state.withLockedValue { $0.dropped } }

    /// Records waiting to be written.
    public var pendingCount: Int { state.withLockedValue { $0.pending.count } }

    /// Writes what is waiting, one batch at a time. On failure the batch goes back to the front
    /// of the buffer (as much as fits) to be tried again, and the error is thrown.
    public func flush() async throws {
        while true {
            let batch = state.withLockedValue { state -> [AuditRecord] in
                let batch = Array(state.pending.prefix(batchSize))
                state.pending.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { break }
            do {
                try await store.appendAuditRecords(batch)
            } catch {
                state.withLockedValue { state in
                    let room = max(0, capacity - state.pending.count)
                    let kept = batch.prefix(room)
                    state.pending.insert(contentsOf: kept, at: 0)
                    state.dropped += batch.count - kept.count
                    state.droppedSinceLog += batch.count - kept.count
                }
                throw error
            }
            if batch.count < batchSize { break }
        }
        let dropped = state.withLockedValue { state in
            defer { state.droppedSinceLog = 0 }
            return state.droppedSinceLog
        }
        if dropped > 0 {
            logger.error("audit records dropped: the buffer was full", metadata: ["dropped": "\(dropped)", "capacity": "\(capacity)"])
        }
    }

    /// Flushes every ``flushInterval`` (sooner when a batch fills) until cancelled, then once
    /// more, outside the cancelled task (the database refuses work from cancelled tasks), so
    /// that what was recorded before shutdown is kept. Call once.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [wakeUps, flushInterval] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: flushInterval)
                    wakeUps.yield()
                }
            }
            // Ends when the task is cancelled.
            for await _ in wakeUpStream { await flushLogging() }
            group.cancelAll()
        }
        await Task { await self.flushLogging() }.value
    }

    private func flushLogging() async {
        do {
            try await flush()
        } catch {
            logger.warning("writing the audit log failed; will retry", metadata: [
                "error": "\(error)", "pending": "\(pendingCount)",
            ])
        }
    }
}
