import Foundation
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// Garbage collection online: pushes, deletes and pulls go on while collections run back to
/// back, and every image that was pushed and not deleted stays pullable in full.
@Suite("Garbage collection under load")
struct ConcurrentCollectionTests {
    static let pushers = 6
    static let imagesPerPusher = 30
    static let minimumCollections = 200
    static let gracePeriod: Duration = .seconds(1)

    /// What one pusher left behind.
    struct Outcome: Sendable {
        var kept: [String] = []
        var deletedLayers: [Digest] = []
    }

    @Test func pushesAndDeletesRacingCollectionsInALoopLoseNothing() async throws {
        // A short grace period, so that collections really delete (deleted images' layers)
        // while pushes are in flight; a push usually takes well under it between a layer and
        // its manifest (see `pushImage` below for when it does not).
        try await TestRegistry.with(configure: {
            $0.gcGracePeriod = Self.gracePeriod
            $0.gcInterval = nil
        }) { client in
            let done = ManagedAtomicFlag()
            async let collections: Int = {
                var count = 0
                while !done.isSet || count < Self.minimumCollections {
                    try await client.collectGarbage(deleteUntagged: true)
                    count += 1
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...15)))
                }
                return count
            }()
            let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                for pusher in 0..<Self.pushers {
                    group.addTask { try await Self.push(pusher, client) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            done.set()
            let runs = try await collections
            #expect(runs >= Self.minimumCollections)

            for (pusher, outcome) in outcomes.enumerated() {
                for tag in outcome.kept { try await client.pullImage("load/p\(pusher)", tag: tag) }
            }
            // Once the grace period is over, one more collection reclaims every layer of the
            // deleted images (none was shared with a kept one).
            try await Task.sleep(for: .milliseconds(1100))
            try await client.collectGarbage(deleteUntagged: true)
            let onDisk = try client.blobsOnDisk()
            for outcome in outcomes {
                for layer in outcome.deletedLayers { #expect(!onDisk.contains(layer), "layer \(layer) of a deleted image is still on disk") }
            }
            for (pusher, outcome) in outcomes.enumerated() {
                for tag in outcome.kept { try await client.pullImage("load/p\(pusher)", tag: tag) }
            }
        }
    }

    /// Pushes images one by one with random pauses, deletes every third right after, and now
    /// and then pushes again a layer of an image it deleted (an upload racing the collection
    /// that deletes the same digest).
    private static func push(_ pusher: Int, _ client: RegistryClient) async throws -> Outcome {
        let repository = "load/p\(pusher)"
        var outcome = Outcome()
        var deletedLayerBytes: [[UInt8]] = []
        for index in 0..<imagesPerPusher {
            var layers = [RegistryClient.randomBytes(Int.random(in: 100...4000))]
            if index % 5 == 4, let again = deletedLayerBytes.popLast() {
                layers.append(again)
                outcome.deletedLayers.removeAll { $0 == RegistryClient.digest(again) }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...20)))
            let tag = "i\(index)"
            let image = try await pushImage(to: repository, tag: tag, layers: layers, client)
            if index % 3 == 0 {
                let reply = try await client.request(.DELETE, "/v2/\(repository)/manifests/\(image.digest)")
                guard reply.status == .accepted else { throw TestFailure("delete failed: \(reply.status)") }
                // Only layers no kept image uses can be expected to go.
                if layers.count == 1 {
                    outcome.deletedLayers.append(RegistryClient.digest(layers[0]))
                    deletedLayerBytes.append(layers[0])
                }
            } else {
                outcome.kept.append(tag)
            }
        }
        return outcome
    }
}

extension ConcurrentCollectionTests {
    /// Pushes an image; pushed again when its manifest was refused for a missing blob after the
    /// push had taken longer than the grace period. A collection may then take the push's
    /// links, as the grace period says (the parallel suite can starve this process for seconds).
    /// The same refusal within the grace period is a failure.
    static func pushImage(
        to repository: String, tag: String, layers: [[UInt8]], _ client: RegistryClient
    ) async throws -> (manifest: [UInt8], digest: Digest) {
        for attempt in 1...3 {
            let started = ContinuousClock.now
            do {
                return try await client.pushImage(to: repository, tag: tag, layers: layers)
            } catch let failure as TestFailure
                where "\(failure)".contains("MANIFEST_BLOB_UNKNOWN") && ContinuousClock.now - started > gracePeriod && attempt < 3 {
                continue
            }
        }
        throw TestFailure("unreachable: the last attempt returns or throws")
    }
}

/// A flag one task sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
