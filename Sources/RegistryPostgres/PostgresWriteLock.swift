import Logging
import PostgresNIO
import RegistryStorage

/// SQLite's single writer, on PostgreSQL: every write transaction of every process that uses the
/// same tables runs alone.
///
/// Two levels. In the process, writers queue on an ``AsyncSerialLock`` (first come, first served)
/// so that only one pool connection at a time waits on the database. In the database, each write
/// transaction starts with `registry_begin_write` (see ``PostgresSchema``), which takes a
/// transaction-level advisory lock, held until `COMMIT` or `ROLLBACK`, and bumps the change
/// counter. Writers run READ COMMITTED: every statement takes its snapshot after the lock is
/// held, so it sees all that earlier writers committed, and no other writer can commit until
/// this one ends, which makes the transaction's statements as consistent as one SQLite
/// `BEGIN IMMEDIATE` transaction. (REPEATABLE READ would be wrong here: its snapshot would be
/// taken by the first statement, before the lock was granted.)
///
/// The key is (a constant, a hash of the schema's name): two registries in separate schemas of
/// one database do not wait on each other.
struct PostgresWriteLock: Sendable {
    /// "OCIR": names this program's advisory locks among other users of the database.
    let lockClass: Int32 = 0x4F43_4952
    let key: Int32
    private let queue = AsyncSerialLock()

    init(schema: String?) {
        // FNV-1a, 32 bits: stable across processes and versions (unlike `hashValue`).
        var hash: UInt32 = 2_166_136_261
        for byte in (schema ?? "").utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        key = Int32(bitPattern: hash)
    }

    /// The advisory-lock key of a background job's claim: the schema's hash mixed with the job's
    /// name, so that registries in separate schemas claim their jobs separately.
    func jobKey(_ job: String) -> Int32 {
        var hash = UInt32(bitPattern: key)
        for byte in job.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int32(bitPattern: hash)
    }

    /// Runs `body` with the in-process queue held (the caller then runs a write transaction).
    func withQueue<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await queue.withLock(body)
    }

    /// `BEGIN`, the lock and the counter, `body`, then `COMMIT` (`ROLLBACK` when `body` throws,
    /// or with `rollingBack`). The caller holds the in-process queue.
    func inTransaction<T>(
        on connection: PostgresConnection, logger: Logger, rollingBack: Bool = false,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT registry_begin_write(\(lockClass), \(key))", logger: logger)
            let result = try await body(connection)
            try await connection.query(rollingBack ? "ROLLBACK" : "COMMIT", logger: logger)
            return result
        } catch {
            await Self.abandon(connection, logger: logger)
            throw error
        }
    }

    /// Rolls back after a failure. A connection that cannot even do that (broken, or the task
    /// cancelled mid-query) is closed, so that the pool never lends it out in a transaction.
    static func abandon(_ connection: PostgresConnection, logger: Logger) async {
        do {
            try await connection.query("ROLLBACK", logger: logger)
        } catch {
            logger.warning("closing a PostgreSQL connection that could not roll back", metadata: ["error": "\(String(reflecting: error))"])
            try? await connection.close()
        }
    }
}
