import Foundation
import NIOConcurrencyHelpers
import RegistryStorage
import Testing

@Suite("Background jobs: one process at a time")
struct JobClaimContractTests {
    @Test(arguments: MetadataBackend.available)
    func aJobClaimedByOneProcessIsRefusedToAnotherUntilItEnds(_ backend: MetadataBackend) async throws {
        try await backend.withStores(count: 2) { (stores: [any StoreUnderTest]) async throws in
            let (first, second) = (stores[0], stores[1])
            let started = AsyncStream<Void>.makeStream()
            let finish = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await first.runExclusively("gc") {
                    started.continuation.yield()
                    for await _ in finish.stream { break }
                    return 1
                }
            }
            for await _ in started.stream { break }
            #expect(try await second.runExclusively("gc") { 2 } == nil)
            // Another job is not held by this one.
            #expect(try await second.runExclusively("scrub") { 3 } == 3)
            finish.continuation.yield()
            #expect(try await holder.value == 1)
            #expect(try await second.runExclusively("gc") { 4 } == 4)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func aJobThatFailsReleasesItsClaim(_ backend: MetadataBackend) async throws {
        struct Failure: Error {}
        try await backend.withStore { (store: any StoreUnderTest) async throws in
            await #expect(throws: Failure.self) { try await store.runExclusively("gc") { () throws -> Int in throw Failure() } }
            #expect(try await store.runExclusively("gc") { 5 } == 5)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func theClaimOfAProcessThatIsGoneIsFree(_ backend: MetadataBackend) async throws {
        try await backend.withStores(count: 2) { (stores: [any StoreUnderTest]) async throws in
            let (gone, survivor) = (stores[0], stores[1])
            let started = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await gone.runExclusively("gc") {
                    started.continuation.yield()
                    try await Task.sleep(for: .seconds(3600))
                    return 0
                }
            }
            for await _ in started.stream { break }
            #expect(try await survivor.runExclusively("gc") { 1 } == nil)
            // The holder dies: its task is cancelled, as a killed replica's connections close.
            holder.cancel()
            _ = try? await holder.value
            #expect(try await survivor.runExclusively("gc") { 2 } == 2)
        }
    }
}
