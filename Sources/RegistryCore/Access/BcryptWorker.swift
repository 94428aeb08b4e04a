import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOPosix

/// Runs bcrypt off Swift's cooperative thread pool. A bcrypt check takes tens of milliseconds of
/// CPU on purpose; on the cooperative pool (one thread per core) a burst of logins would stall
/// every other request. Here they queue on two threads of their own instead.
enum BcryptWorker {
    /// Started on first use and kept for the life of the process, like NIO's own singletons:
    /// one pool of two threads however many registries (or tests) the process runs, so no
    /// per-instance threads can leak.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Whether `password` matches the bcrypt `hash`. False, never an error, if the pool has
    /// stopped: a check that did not run did not pass.
    static func verify(_ password: String, hash: String) async -> Bool {
        (try? await pool.runIfActive { Bcrypt.verify(password, hash: hash) }) ?? false
    }

    private static let decoys = NIOLockedValueBox<[Int: String]>([:])

    /// A bcrypt hash of cost `cost` of a random password nobody knows: checking a password
    /// against it costs what checking a real entry of that cost does, so a login as an unknown
    /// user takes as long as one with a wrong password. Made once per cost and process.
    static func decoyHash(cost: Int) async -> String {
        let cost = min(max(cost, 4), 31)
        if let decoy = decoys.withLockedValue({ $0[cost] }) { return decoy }
        let secret = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined()
        let decoy = (try? await pool.runIfActive { Bcrypt.hash(secret, cost: UInt8(cost)) })
            // Pool stopped: `verify` will not run either, so any well-formed string does.
            ?? "$2b$\(cost < 10 ? "0" : "")\(cost)$" + String(repeating: ".", count: 53)
        return decoys.withLockedValue { decoys in
            if let existing = decoys[cost] { return existing }
            decoys[cost] = decoy
            return decoy
        }
    }

    /// The cost (log2 rounds) of a bcrypt hash, nil when `hash` is none.
    static func cost(of hash: String) -> Int? {
        let parts = hash.split(separator: "$")
        guard parts.count == 3, ["2a", "2b", "2y"].contains(parts[0]), let cost = Int(parts[1]) else { return nil }
        return cost
    }
}
