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

    /// Runs the writes in one write transaction; called with the in-process queue held. The
    /// first pass runs the statements bare; when one fails (aborting the transaction), the batch
    /// runs again with each statement inside a savepoint, so that one failing undoes only itself.
    private static func run(
        _ writes: [Write], on connection: PostgresConnection, lock: PostgresWriteLock, logger: Logger,
        isolatingEach: Bool = false
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
                    outcomes.append(try await statement(write.query, on: db, isolated: isolatingEach, logger: logger))
                }
                return outcomes
            }
        } catch let failure as StatementFailed where writes.count == 1 {
            return [.failure(failure.underlying)]
        } catch is StatementFailed {
            return await run(writes, on: connection, lock: lock, logger: logger, isolatingEach: true)
        } catch {
            // `BEGIN`, the lock, a savepoint or `COMMIT` failed: nothing of the batch is committed.
            return Array(repeating: .failure(error), count: writes.count)
        }
    }

    /// One write's statement, returning the number of rows it returned. Bare, a failure aborts
    /// the transaction and is thrown as ``StatementFailed``; isolated, it is rolled back to its
    /// savepoint and returned.
    private static func statement(
        _ query: PostgresQuery, on db: PostgresConnection, isolated: Bool, logger: Logger
    ) async throws -> Result<Int, any Error> {
        guard isolated else {
            do {
                return .success(try await db.query(query, logger: logger).collect().count)
            } catch {
                throw StatementFailed(underlying: error)
            }
        }
        try await db.query("SAVEPOINT grouped_write", logger: logger)
        do {
            let rows = try await db.query(query, logger: logger).collect().count
            try await db.query("RELEASE SAVEPOINT grouped_write", logger: logger)
            return .success(rows)
        } catch {
            try await db.query("ROLLBACK TO SAVEPOINT grouped_write", logger: logger)
            try await db.query("RELEASE SAVEPOINT grouped_write", logger: logger)
            return .failure(error)
        }
    }
}
