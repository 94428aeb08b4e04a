import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import RegistryModel
@testable import RegistryPostgres
import RegistryStorage
import Testing

/// What only the PostgreSQL backend has: its configuration, schema versions and the
/// database-wide write lock.
@Suite("PostgreSQL metadata backend")
struct PostgresBackendTests {
    /// Shows, as skipped with its reason, that the contract suite ran on SQLite alone.
    @Test(.enabled(if: MetadataBackend.postgresURL != nil, Comment(rawValue: MetadataBackend.postgresSkipReason)))
    func theContractSuiteRunsOnPostgres() async throws {
        try await MetadataBackend.postgres.withStore { store in try await store.checkReachable() }
    }

    @Test func aURLGivesServerCredentialsDatabaseAndTLS() throws {
        let configuration = try PostgresMetadataConfiguration(url: "postgresql://reg%40istry:p%3Aw%2F@db.example:6543/metadata?sslmode=verify-full")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "reg@istry")
        #expect(configuration.password == "p:w/")
        #expect(configuration.database == "metadata")
        #expect(configuration.tls == .verifyFull)

        let overridden = try PostgresMetadataConfiguration(url: "postgres://registry:old@localhost/db", password: "from-a-file", tls: .disable)
        #expect(overridden.password == "from-a-file")
        #expect(overridden.port == 5432)
        #expect(overridden.tls == .disable)
        #expect(try PostgresMetadataConfiguration(url: "postgres://registry@localhost/db").tls == .prefer)
    }

    @Test(arguments: [
        "mysql://u:p@host/db", "postgres://u:p@host", "postgres://host/db", "postgres://u:p@/db",
        "postgres://u:p@host/db?sslmode=allow",
    ])
    func anUnusableURLIsRefused(_ url: String) {
        #expect(throws: PostgresMetadataError.self) { try PostgresMetadataConfiguration(url: url) }
    }

    @Test func onlyPlainSchemaNamesAreAccepted() throws {
        try PostgresMetadataConfiguration.validate(schema: "registry_2")
        for bad in ["", "Registry", "a-b", "a;drop", "2fast", String(repeating: "a", count: 64)] {
            #expect(throws: PostgresMetadataError.invalidSchemaName(bad)) { try PostgresMetadataConfiguration.validate(schema: bad) }
        }
    }

    @Test(.enabled(if: MetadataBackend.postgresURL != nil, Comment(rawValue: MetadataBackend.postgresSkipReason)))
    func aDatabaseMigratedByANewerRegistryIsRefused() async throws {
        try await PostgresTestDatabase.withSchema { configuration in
            let store = try await PostgresMetadataStore.open(configuration: configuration, logger: MetadataBackend.logger)
            try await store.close()
            try await PostgresTestDatabase.administer("UPDATE schema_version SET version = 99", schema: configuration.schema)
            await #expect(throws: PostgresMetadataError.schemaTooNew(found: 99, supported: PostgresSchema.version)) {
                _ = try await PostgresMetadataStore.open(configuration: configuration, logger: MetadataBackend.logger)
            }
        }
    }

    @Test(.enabled(if: MetadataBackend.postgresURL != nil, Comment(rawValue: MetadataBackend.postgresSkipReason)))
    func processesOpeningANewDatabaseAtOnceMigrateItOnce() async throws {
        try await PostgresTestDatabase.withSchema { configuration in
            let stores = try await withThrowingTaskGroup(of: PostgresMetadataStore.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await PostgresMetadataStore.open(configuration: configuration, logger: MetadataBackend.logger) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var versions: [Int32] = []
            for try await version in try await stores[0].query("SELECT version FROM schema_version").decode(Int32.self) {
                versions.append(version)
            }
            #expect(versions == [Int32(PostgresSchema.version)])
            try await stores[1].addBlob(DigestHasher.digest(of: [1]), size: 1, into: RepositoryName("team/app")!)
            #expect(try await stores[2].blobSize(DigestHasher.digest(of: [1])) == 1)
            for store in stores { try await store.close() }
        }
    }

    @Test(.enabled(if: MetadataBackend.postgresURL != nil, Comment(rawValue: MetadataBackend.postgresSkipReason)))
    func aWriteWaitsForAnotherProcesssWriteTransaction() async throws {
        try await PostgresTestDatabase.withSchema { configuration in
            let store = try await PostgresMetadataStore.open(configuration: configuration, logger: MetadataBackend.logger)
            // Another process holds the write lock in an open transaction.
            let lock = PostgresWriteLock(schema: configuration.schema)
            let other = try await PostgresConnection.connect(
                configuration: try configuration.connectionConfiguration(), id: 9, logger: MetadataBackend.logger)
            try await other.query("BEGIN", logger: MetadataBackend.logger)
            try await other.query("SELECT registry_begin_write(\(lock.lockClass), \(lock.key))", logger: MetadataBackend.logger)

            let repository = RepositoryName("team/app")!
            let finished = NIOLockedValueBox(false)
            let write = Task {
                try await store.addBlob(DigestHasher.digest(of: [1]), size: 1, into: repository)
                finished.withLockedValue { $0 = true }
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(finished.withLockedValue { $0 } == false)
            // Reads do not wait.
            #expect(try await store.blobSize(DigestHasher.digest(of: [1])) == nil)
            try await other.query("COMMIT", logger: MetadataBackend.logger)
            try await write.value
            #expect(try await store.blobSize(DigestHasher.digest(of: [1]), in: repository) == 1)
            try await other.close()
            try await store.close()
        }
    }

    @Test(.enabled(if: MetadataBackend.postgresURL != nil, Comment(rawValue: MetadataBackend.postgresSkipReason)))
    func everyWriteMovesTheChangeCounterAndReadsDoNot() async throws {
        try await MetadataBackend.postgres.withStore { store in
            let start = try await store.changeCounter()
            _ = try await store.blobSize(DigestHasher.digest(of: [1]))
            #expect(try await store.changeCounter() == start)
            try await store.addBlob(DigestHasher.digest(of: [1]), size: 1, into: RepositoryName("team/app")!)
            #expect(try await store.changeCounter() > start)
        }
    }
}
