import Foundation
import Logging
import SQLiteNIO
import Testing

@testable import RegistryStorage

@Suite("SQLite write transactions")
struct SQLiteTransactionTests {
    /// A stopping registry cancels its tasks, some in the middle of a write transaction. The
    /// transaction must still end (rolled back): left open on the one writer connection, it
    /// made every later write fail with "cannot start a transaction within a transaction",
    /// which lost the events and audit records a shutdown writes last.
    @Test func aTransactionCancelledMidwayLeavesTheWriterUsable() async throws {
        try await withTemporaryDirectory("sqlite-tx") { directory in
            let store = try await SQLiteMetadataStore.open(path: directory + "/metadata.sqlite", logger: Logger(label: "test"))
            let started = AsyncStream<Void>.makeStream()
            let cancelled = Task {
                try await store.transaction { db in
                    _ = try await db.query("CREATE TABLE probe (value INTEGER)")
                    started.continuation.yield()
                    try await Task.sleep(for: .seconds(30))
                }
            }
            var iterator = started.stream.makeAsyncIterator()
            await iterator.next()
            cancelled.cancel()
            await #expect(throws: CancellationError.self) { try await cancelled.value }

            // Rolled back (no table), and the writer takes the next transaction.
            try await store.transaction { db in
                _ = try await db.query("CREATE TABLE probe (value INTEGER)")
                _ = try await db.query("INSERT INTO probe VALUES (1)")
            }
            let rows = try await store.transaction { db in try await db.query("SELECT value FROM probe") }
            #expect(rows.count == 1)
            try await store.close()
        }
    }
}
