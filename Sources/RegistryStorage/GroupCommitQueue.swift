import NIOConcurrencyHelpers
import SQLiteNIO

/// Single-statement writes that arrive while the writer connection is busy, committed together.
///
/// Every round trip to sqlite-nio's thread costs three thread wake-ups, and the writer
/// connection is one: under many small pushes (a session opened, a blob recorded, per push) the
/// serialised round trips, not SQLite, set the pace. Writes queue here instead; one task takes
/// the write lock and commits everything queued in one transaction (`BEGIN`, each write, one
/// `COMMIT`), then the next batch. Alone, a write costs what it did before: one statement, or
/// `BEGIN`, its preparation, the statement and `COMMIT` when it has a preparation.
///
/// Each write keeps its own outcome: a write whose preparation or statement fails is reported
/// to its caller alone (SQLite undoes just that statement), and the others commit.
final class GroupCommitQueue: Sendable {
    struct Write: Sendable {
        /// Runs first, inside the transaction, while the write lock is held (confirming that an
        /// upload's blob file is in place); when it fails the statement is not run.
        var preparation: (@Sendable () async throws -> Void)?
        var sql: String
        var binds: [SQLiteData]
    }

    private struct Waiting: Sendable {
        var write: Write
        var continuation: CheckedContinuation<[SQLiteRow], any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var isCommitting = false
    }

    /// Writes per transaction at most, so that a transaction stays short.
    static let maximumBatch = 64

    private let state = NIOLockedValueBox(State())
    private let connection: SQLiteConnection
    private let writeLock: AsyncSerialLock

    init(connection: SQLiteConnection, writeLock: AsyncSerialLock) {
        self.connection = connection
        self.writeLock = writeLock
    }

    /// Returns once `write` is committed, with the rows its statement returned, or throws what
    /// made it fail.
    @discardableResult
    func commit(_ write: Write) async throws -> [SQLiteRow] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[SQLiteRow], any Error>) in
            let startsCommitter = state.withLockedValue { state in
                state.queue.append(Waiting(write: write, continuation: continuation))
                defer { state.isCommitting = true }
                return !state.isCommitting
            }
            if startsCommitter {
                Task { await self.commitUntilEmpty() }
            }
        }
    }

    private func commitUntilEmpty() async {
        while true {
            let batch = state.withLockedValue { state -> [Waiting] in
                if state.queue.isEmpty { state.isCommitting = false }
                let batch = state.queue.prefix(Self.maximumBatch)
                state.queue.removeFirst(batch.count)
                return Array(batch)
            }
            if batch.isEmpty { return }
            let outcomes = await (try? writeLock.withLock { await self.run(batch.map(\.write)) })
                ?? Array(repeating: .failure(CancellationError()), count: batch.count)
            for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(with: outcome) }
        }
    }

    /// Runs the writes in one transaction (a lone write without preparation in none); called
    /// with the write lock held.
    private func run(_ writes: [Write]) async -> [Result<[SQLiteRow], any Error>] {
        if writes.count == 1, writes[0].preparation == nil {
            return [await outcome(of: writes[0], on: connection)]
        }
        do {
            return try await SQLiteMetadataStore.inTransaction(on: connection) { db in
                var outcomes: [Result<[SQLiteRow], any Error>] = []
                for write in writes { outcomes.append(await outcome(of: write, on: db)) }
                return outcomes
            }
        } catch {
            // `BEGIN` or `COMMIT` failed: nothing of the batch is committed.
            return Array(repeating: .failure(error), count: writes.count)
        }
    }

    /// Runs one write's preparation, then its statement unless the preparation failed.
    private func outcome(of write: Write, on db: SQLiteConnection) async -> Result<[SQLiteRow], any Error> {
        do {
            try await write.preparation?()
            return .success(try await db.query(write.sql, write.binds))
        } catch {
            return .failure(error)
        }
    }
}
