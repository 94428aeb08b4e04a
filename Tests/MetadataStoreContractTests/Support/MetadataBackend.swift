import Foundation
import Logging
import PostgresNIO
import RegistryModel
@testable import RegistryPostgres
import RegistryStorage
import Testing

/// What every backend offers and the contract suite checks.
typealias StoreUnderTest = MetadataDatabase

/// A metadata backend the contract suite runs against. Each test gets a fresh, empty database:
/// a temporary SQLite file, or a schema of its own in the PostgreSQL database that
/// `REGISTRY_TEST_POSTGRES_URL` names (dropped afterwards).
enum MetadataBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    static let postgresURLVariable = "REGISTRY_TEST_POSTGRES_URL"
    static var postgresURL: String? { ProcessInfo.processInfo.environment[postgresURLVariable].flatMap { $0.isEmpty ? nil : $0 } }
    static let postgresSkipReason = "set \(postgresURLVariable) to run the suite on PostgreSQL too (scripts/engines/start.sh prints it)"

    /// SQLite always; PostgreSQL when a server is configured.
    static var available: [MetadataBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }

    static let logger = Logger(label: "metadata-contract", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `body` with a store on a fresh database, closed (and the database removed) afterwards.
    func withStore(_ body: (any StoreUnderTest) async throws -> Void) async throws {
        try await withStores(count: 1) { try await body($0[0]) }
    }

    /// Runs `body` with `count` stores on one fresh database, as separate processes sharing it
    /// would have.
    func withStores(count: Int, _ body: ([any StoreUnderTest]) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metadata-contract-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try await Self.run(body, count: count) {
                try await SQLiteMetadataStore.open(path: directory + "/metadata.sqlite", logger: Self.logger)
            }
        case .postgres:
            try await PostgresTestDatabase.withSchema { configuration in
                try await Self.run(body, count: count) {
                    try await PostgresMetadataStore.open(configuration: configuration, logger: Self.logger)
                }
            }
        }
    }

    private static func run(
        _ body: ([any StoreUnderTest]) async throws -> Void, count: Int, open: () async throws -> any StoreUnderTest
    ) async throws {
        var stores: [any StoreUnderTest] = []
        do {
            for _ in 0..<count { stores.append(try await open()) }
            try await body(stores)
        } catch {
            for store in stores { try? await store.close() }
            throw error
        }
        for store in stores { try await store.close() }
    }
}

/// Fresh schemas in the configured PostgreSQL database, a few tests at a time (each store opens a
/// pool, and the server's connections are limited).
enum PostgresTestDatabase {
    static let slots = TestSlots(4)

    static func baseConfiguration() throws -> PostgresMetadataConfiguration {
        guard let url = MetadataBackend.postgresURL else { throw SkipError() }
        var configuration = try PostgresMetadataConfiguration(url: url)
        configuration.maximumConnections = 4
        return configuration
    }

    struct SkipError: Error, CustomStringConvertible {
        var description: String { MetadataBackend.postgresSkipReason }
    }

    /// Runs `body` with a configuration whose schema is new (the store creates it at open) and
    /// drops that schema afterwards.
    static func withSchema(_ body: (PostgresMetadataConfiguration) async throws -> Void) async throws {
        try await slots.withSlot {
            var configuration = try baseConfiguration()
            let schema = "contract_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            configuration.schema = schema
            do {
                try await body(configuration)
            } catch {
                try? await drop(schema)
                throw error
            }
            try await drop(schema)
        }
    }

    /// Runs one statement on a connection of its own, outside any store.
    static func administer(_ query: PostgresQuery, schema: String? = nil) async throws {
        var configuration = try baseConfiguration()
        configuration.schema = schema
        let connection = try await PostgresConnection.connect(
            configuration: try configuration.connectionConfiguration(), id: 1, logger: MetadataBackend.logger)
        do {
            try await connection.query(query, logger: MetadataBackend.logger)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    private static func drop(_ schema: String) async throws {
        try await administer(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"))
    }
}

/// A counting semaphore for async tests.
actor TestSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    nonisolated func withSlot<T>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }

    private func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}
