import Logging
import PostgresNIO
import RegistryStorage

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

    /// Writes per transaction at most, so that a transaction stays short.
    static let maximumBatch = 64

    private let batcher: WriteBatcher<Write, Int>

    init(client: PostgresClient, lock: PostgresWriteLock, logger: Logger) {
        batcher = WriteBatcher(maximumBatch: Self.maximumBatch) { writes in
            do {
                return try await lock.withQueue {
                    try await client.withConnection { connection in
                        await Self.run(writes, on: connection, lock: lock, logger: logger)
                    }
                }
            } catch {
                // No connection: nothing of the batch was tried.
                return Array(repeating: .failure(error), count: writes.count)
            }
        }
    }

    /// Returns once `write` is committed, with the number of rows its statement returned, or
    /// throws what made it fail.
    @discardableResult
    func commit(_ write: Write) async throws -> Int {
        try await batcher.submit(write)
    }

    /// A statement failed and aborted the transaction; carries its error out of the first pass.
    private struct StatementFailed: Error {
        var underlying: any Error
    }

    /// Runs the writes in one write transaction; called with the in-process queue held.
    private static func run(
        _ writes: [Write], on connection: PostgresConnection, lock: PostgresWriteLock, logger: Logger
    ) async -> [Result<Int, any Error>] {
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
            return await runIsolatingEach(writes, on: connection, lock: lock, logger: logger)
        } catch {
            // `BEGIN`, the lock or `COMMIT` failed: nothing of the batch is committed.
            return Array(repeating: .failure(error), count: writes.count)
        }
    }

    /// The second pass: each statement inside a savepoint, so that one failing undoes only itself.
    private static func runIsolatingEach(
        _ writes: [Write], on connection: PostgresConnection, lock: PostgresWriteLock, logger: Logger
    ) async -> [Result<Int, any Error>] {
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
