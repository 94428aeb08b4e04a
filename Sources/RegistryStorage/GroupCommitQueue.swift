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

    /// Writes per transaction at most, so that a transaction stays short.
    static let maximumBatch = 64

    private let batcher: WriteBatcher<Write, [SQLiteRow]>

    init(connection: SQLiteConnection, writeLock: AsyncSerialLock) {
        batcher = WriteBatcher(maximumBatch: Self.maximumBatch) { writes in
            await (try? writeLock.withLock { await Self.run(writes, on: connection) })
                ?? Array(repeating: .failure(CancellationError()), count: writes.count)
        }
    }

    /// Returns once `write` is committed, with the rows its statement returned, or throws what
    /// made it fail.
    @discardableResult
    func commit(_ write: Write) async throws -> [SQLiteRow] {
        try await batcher.submit(write)
    }

    /// Runs the writes in one transaction (a lone write without preparation in none); called
    /// with the write lock held.
    private static func run(_ writes: [Write], on connection: SQLiteConnection) async -> [Result<[SQLiteRow], any Error>] {
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
    private static func outcome(of write: Write, on db: SQLiteConnection) async -> Result<[SQLiteRow], any Error> {
        do {
            try await write.preparation?()
            return .success(try await db.query(write.sql, write.binds))
        } catch {
            return .failure(error)
        }
    }
}
