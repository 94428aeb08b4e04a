import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// Not a timed test: prints what the hot metadata operations cost on each backend, when asked
/// with `REGISTRY_METADATA_FIGURES=1` (PostgreSQL too when `REGISTRY_TEST_POSTGRES_URL` is set).
@Suite("Metadata cost figures", .serialized)
struct MetadataCostFigures {
    static let enabled = ProcessInfo.processInfo.environment["REGISTRY_METADATA_FIGURES"] == "1"
    static let rounds = Int(ProcessInfo.processInfo.environment["REGISTRY_METADATA_FIGURES_ROUNDS"] ?? "") ?? 500

    @Test(.enabled(if: enabled, "set REGISTRY_METADATA_FIGURES=1 to print the figures"), arguments: MetadataBackend.available)
    func printCostOfManifestPutTagLookupAndBlobUse(_ backend: MetadataBackend) async throws {
        let repository = RepositoryName("team/app")!
        let rounds = Self.rounds
        try await backend.withStore { store in
            let blobs = (0..<2).map { DigestHasher.digest(of: [UInt8($0), 0xbb]) }
            for blob in blobs { try await store.addBlob(blob, size: 1000, into: repository) }
            let manifests = (0..<rounds).map { index in
                let content = ByteBuffer(string: "{\"schemaVersion\":2,\"n\":\(index),\"pad\":\"\(String(repeating: "x", count: 600))\"}")
                return NewManifest(
                    digest: DigestHasher.digest(of: Array(buffer: content)), mediaType: MediaType.ociManifest, content: content,
                    blobReferences: blobs, manifestReferences: [], subject: nil, artifactType: nil, annotations: nil)
            }
            // The floor: one trivial query, a round trip through the driver.
            let trivial = try await Self.time(rounds) { _ in try await store.checkReachable() }
            let put = try await Self.time(rounds) { index in
                _ = try await store.putManifest(manifests[index], tag: Tag("t\(index)"), in: repository)
            }
            let lookup = try await Self.time(rounds) { index in
                _ = try await store.manifest(taggedAs: Tag("t\(index)")!, in: repository)
            }
            let use = try await Self.time(rounds) { index in
                _ = try await store.recordBlobUse(blobs[index % 2], in: repository, at: Date())
            }
            // 16 HEADs at once, as a push's layers arrive: they share transactions.
            let concurrent = 16
            let useTogether = try await Self.time(rounds / concurrent) { _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<concurrent {
                        group.addTask { _ = try await store.recordBlobUse(blobs[index % 2], in: repository, at: Date()) }
                    }
                    try await group.waitForAll()
                }
            } / Double(concurrent)
            print(String(
                format: "metadata figures [%@] %d rounds: SELECT 1 %.0f µs, putManifest %.0f µs, manifest(taggedAs:) %.0f µs, recordBlobUse %.0f µs alone, %.0f µs each with 16 at once",
                backend.rawValue, rounds, trivial, put, lookup, use, useTogether))
        }
    }

    /// Mean microseconds per call of `body`, called `count` times in sequence.
    private static func time(_ count: Int, _ body: (Int) async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for index in 0..<count { try await body(index) }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds * 1e6 / Double(max(count, 1))
    }
}
