import Foundation
@testable import RegistryCore
import RegistryModel
import Testing

/// How htpasswd logins are checked: NUL bytes refused, bcrypt counted (never timed), successes
/// cached under a key that includes the stored hash, unknown users made to cost a bcrypt check.
@Suite("Password verification")
struct PasswordAuthTests {
    private func htpasswd(_ users: [String: String]) throws -> Htpasswd {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("htpasswd-\(UUID().uuidString)").path
        for (user, password) in users { try Htpasswd.setPassword(password, for: user, in: path, cost: 4) }
        return try Htpasswd(path: path)
    }

    @Test func passwordWithNULIsRefusedEvenWhenThePrefixIsRight() async throws {
        let file = try htpasswd(["alice": "alice-pw"])
        #expect(await file.verify(user: "alice", password: "alice-pw"))
        #expect(await !file.verify(user: "alice", password: "alice-pw\u{0}anything"))
        #expect(await !file.verify(user: "alice\u{0}x", password: "alice-pw"))
        let access = AccessControl(htpasswd: file, policy: AccessPolicy())
        await #expect(throws: RegistryError.self) {
            _ = try await access.verifyPassword(user: "alice", password: "alice-pw\u{0}anything", address: "10.0.0.1")
        }
        do {
            _ = try await access.verifyPassword(user: "alice", password: "alice-pw\u{0}", address: "10.0.0.1")
            Issue.record("a NUL password was accepted")
        } catch {
            #expect(error.code == .unauthorized)
        }
    }

    @Test func userAddRefusesPasswordsWithNUL() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("htpasswd-\(UUID().uuidString)").path
        #expect(throws: HtpasswdError.self) { try Htpasswd.setPassword("secret\u{0}more", for: "alice", in: path, cost: 4) }
        #expect(throws: HtpasswdError.self) { try Htpasswd.setPassword("secret", for: "al\u{0}ice", in: path, cost: 4) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aCachedSuccessRunsNoSecondBcrypt() async throws {
        let file = try htpasswd(["alice": "alice-pw"])
        #expect(await file.verify(user: "alice", password: "alice-pw"))
        #expect(file.bcryptVerifications == 1)
        #expect(await file.verify(user: "alice", password: "alice-pw"))
        #expect(await file.verify(user: "alice", password: "alice-pw"))
        #expect(file.bcryptVerifications == 1)
        // Another password for the same user is not the cached one.
        #expect(await !file.verify(user: "alice", password: "alice-pw2"))
        #expect(file.bcryptVerifications == 2)
    }

    @Test func failuresAreNotCached() async throws {
        let file = try htpasswd(["alice": "alice-pw"])
        #expect(await !file.verify(user: "alice", password: "guess"))
        #expect(await !file.verify(user: "alice", password: "guess"))
        #expect(file.bcryptVerifications == 2)
        #expect(file.cache.count == 0)
    }

    @Test func aChangedEntryIsNotServedFromTheCache() async throws {
        let file = try htpasswd(["alice": "first"])
        #expect(await file.verify(user: "alice", password: "first"))
        #expect(file.bcryptVerifications == 1)
        try Htpasswd.setPassword("second", for: "alice", in: file.path, cost: 4)
        try file.reload()
        #expect(await !file.verify(user: "alice", password: "first"))
        #expect(file.bcryptVerifications == 2)
        #expect(await file.verify(user: "alice", password: "second"))
        #expect(file.bcryptVerifications == 3)
        // The same password hashed anew (a new salt) is a new entry: checked again, once.
        try Htpasswd.setPassword("second", for: "alice", in: file.path, cost: 4)
        try file.reload()
        #expect(await file.verify(user: "alice", password: "second"))
        #expect(await file.verify(user: "alice", password: "second"))
        #expect(file.bcryptVerifications == 4)
    }

    @Test func unknownUsersAndNonBcryptEntriesCostOneBcryptCheck() async throws {
        let file = try htpasswd(["alice": "alice-pw"])
        #expect(await !file.verify(user: "nobody", password: "alice-pw"))
        #expect(file.bcryptVerifications == 1)
        #expect(await !file.verify(user: "nobody", password: "alice-pw"))
        #expect(file.bcryptVerifications == 2)

        let text = try String(contentsOfFile: file.path, encoding: .utf8) + "plain:secret\n"
        try text.write(toFile: file.path, atomically: true, encoding: .utf8)
        try file.reload()
        #expect(await !file.verify(user: "plain", password: "secret"))
        #expect(file.bcryptVerifications == 3)
    }

    @Test func theDecoyHashHasTheCostMostEntriesUse() async {
        #expect(Htpasswd.typicalCost(of: ["$2y$05$x", "$2b$07$y", "$2b$07$z", "plain"]) == 7)
        #expect(Htpasswd.typicalCost(of: ["plain"]) == 10)
        let decoy = await BcryptWorker.decoyHash(cost: 5)
        #expect(BcryptWorker.cost(of: decoy) == 5)
        #expect(await BcryptWorker.decoyHash(cost: 5) == decoy)
        #expect(await !BcryptWorker.verify("", hash: decoy))
    }

    @Test func theCacheForgetsAfterItsLifetimeAndDropsTheOldestWhenFull() {
        let cache = VerificationCache(lifetime: 60, capacity: 2)
        let start = Date()
        cache.insert(user: "a", password: "pw", storedHash: "h1", now: start)
        #expect(cache.contains(user: "a", password: "pw", storedHash: "h1", now: start.addingTimeInterval(59)))
        #expect(!cache.contains(user: "a", password: "pw", storedHash: "h1", now: start.addingTimeInterval(60)))
        #expect(!cache.contains(user: "a", password: "pw", storedHash: "h2", now: start))
        #expect(!cache.contains(user: "a", password: "pw2", storedHash: "h1", now: start))

        cache.insert(user: "a", password: "pw", storedHash: "h", now: start)
        cache.insert(user: "b", password: "pw", storedHash: "h", now: start.addingTimeInterval(1))
        cache.insert(user: "c", password: "pw", storedHash: "h", now: start.addingTimeInterval(2))
        #expect(cache.count == 2)
        #expect(!cache.contains(user: "a", password: "pw", storedHash: "h", now: start.addingTimeInterval(3)))
        #expect(cache.contains(user: "b", password: "pw", storedHash: "h", now: start.addingTimeInterval(3)))
        #expect(cache.contains(user: "c", password: "pw", storedHash: "h", now: start.addingTimeInterval(3)))
    }
}
