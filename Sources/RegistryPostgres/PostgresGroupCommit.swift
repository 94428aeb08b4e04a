import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Single-statement writes that arrive while another write holds the lock, committed together:
/// the PostgreSQL counterpart of `GroupCommitQueue` (upload sessions, finished uploads, blob
/// uses). A write transaction costs four round trips (`BEGIN`, the lock, the statement,
/// `COMMIT`) and a WAL flush, all under the write lock; a batch pays the three fixed ones and
/// the flush once.
///
/// Each write keeps its own outcome, as SQLite gives it (a failed statement undoes only
/// itself): a batch runs first without savepoints, the common case; when a statement fails, the
/// transaction is aborted, so the batch is rolled back and run again with a savepoint around each
/// statement. Preparations (checks that an upload's file is in place) run again in that second
/// pass, still under the lock and before their statement.
final class PostgresGroupCommit: Sendable {
    struct Write: Sendable {
        /// Runs first, inside the transaction, while the write lock is held; when it fails the
        /// statement is not run.
        var preparation: (@Sendable () async throws -> Void)?
        var query: PostgresQuery
    }

    private struct Waiting: Sendable {
        var write: Write
        var continuation: CheckedContinuation<Int, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var isCommitting = false
    }

    /// Writes per transaction at most, so that a transaction stays short.
    static let maximumBatch = 64

    private let state = NIOLockedValueBox(State())
    private let client: PostgresClient
    private let lock: PostgresWriteLock
    private let logger: Logger

    init(client: PostgresClient, lock: PostgresWriteLock, logger: Logger) {
        self.client = client
        self.lock = lock
        self.logger = logger
    }

    /// Returns once `write` is committed, with the number of rows its statement returned, or
    /// throws what made it fail.
    @discardableResult
    func commit(_ write: Write) async throws -> Int {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
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
            let writes = batch.map(\.write)
            let outcomes: [Result<Int, any Error>]
            do {
                outcomes = try await lock.withQueue {
                    try await self.client.withConnection { connection in await self.run(writes, on: connection) }
                }
            } catch {
                // No connection: nothing of the batch was tried.
                outcomes = Array(repeating: .failure(error), count: batch.count)
            }
            for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(with: outcome) }
        }
    }

    /// A statement failed and aborted the transaction; carries its error out of the first pass.
    private struct StatementFailed: Error {
        var underlying: any Error
    }

    /// Runs the writes in one write transaction; called with the in-process queue held.
    private func run(_ writes: [Write], on connection: PostgresConnection) async -> [Result<Int, any Error>] {
        do {
            return try await lock.inTransaction(on: connection, logger: logger) { db in
                var outcomes: [Result<Int, any Error>] = []
                for write in writes {
                    do {
                        try await write.preparation?()
                    } catch {
                        outcomes.append(.failure(error))
                        continue
                    }
                    do {
                        outcomes.append(.success(try await db.query(write.query, logger: logger).collect().count))
                    } catch {
                        throw StatementFailed(underlying: error)
                    }
                }
                return outcomes
            }
        } catch let failure as StatementFailed where writes.count == 1 {
            return [.failure(failure.underlying)]
        } catch is StatementFailed {
            return await runIsolatingEach(writes, on: connection)
        } catch {
            // `BEGIN`, the lock or `COMMIT` failed: nothing of the batch is committed.
            return Array(repeating: .failure(error), count: writes.count)
        }
    }

    /// The second pass: each statement inside a savepoint, so that one failing undoes only itself.
    private func runIsolatingEach(_ writes: [Write], on connection: PostgresConnection) async -> [Result<Int, any Error>] {
        do {
            return try await lock.inTransaction(on: connection, logger: logger) { db in
                var outcomes: [Result<Int, any Error>] = []
                for write in writes {
                    do {
                        try await write.preparation?()
                    } catch {
                        outcomes.append(.failure(error))
                        continue
                    }
                    try await db.query("SAVEPOINT grouped_write", logger: logger)
                    do {
                        let rows = try await db.query(write.query, logger: logger).collect().count
                        try await db.query("RELEASE SAVEPOINT grouped_write", logger: logger)
                        outcomes.append(.success(rows))
                    } catch {
                        try await db.query("ROLLBACK TO SAVEPOINT grouped_write", logger: logger)
                        try await db.query("RELEASE SAVEPOINT grouped_write", logger: logger)
                        outcomes.append(.failure(error))
                    }
                }
                return outcomes
            }
        } catch {
            return Array(repeating: .failure(error), count: writes.count)
        }
    }
}
