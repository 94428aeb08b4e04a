import Foundation
import NIOHTTP1
import RegistryModel
import RegistryTestSupport
import Testing

/// The pull-through cache with its blobs in the bucket `scripts/engines/start.sh` starts. An
/// object store shows a blob's bytes only once they are written whole, so clients of an uncached
/// blob wait for the verified blob instead of reading it as it arrives.
@Suite(
    "Pull-through cache on object storage",
    .enabled(if: ReplicaStorage.available.contains(.s3), "needs the radosgw of scripts/engines/start.sh"))
struct PullThroughCacheOnObjectStorageTests {
    static func withCache<T>(_ body: (ProxyFixture) async throws -> T) async throws -> T {
        try await ProxyFixture.with(configureCache: {
            ReplicaStorage.s3.apply(to: &$0, prefix: "proxy-\(UUID().uuidString.lowercased())/")
        }, body)
    }

    @Test func concurrentPullsOfAnUncachedImageFetchEachBlobOnceAndGetTheRightBytes() async throws {
        try await Self.withCache { fixture in
            // Larger than a part: the cached copy is a multipart object.
            let layer = RegistryClient.randomBytes(12 << 20)
            let pushed = try await fixture.pusher(for: "library/app").pushImage(to: "library/app", tag: "v1", layers: [layer])
            let digest = RegistryClient.digest(layer)
            let cache = fixture.cacheClient
            let manifest = try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [PullThroughCacheTests.accept])
            #expect(manifest.status == .ok)
            #expect(manifest.bytes == pushed.manifest)

            let results = try await withThrowingTaskGroup(of: (HTTPResponseStatus, Bool).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let reply = try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)")
                        return (reply.status, reply.bytes == layer)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 8)
            #expect(results.allSatisfy { $0.0 == .ok && $0.1 })
            #expect(fixture.upstreamGets("/blobs/\(digest)") == 1)

            // Served from the bucket now, the upstream not asked again.
            await fixture.upstream.stop()
            #expect(try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)").bytes == layer)
        }
    }

    @Test func aCorruptUpstreamBlobIsRefusedBeforeAnyByteAndNotCached() async throws {
        try await Self.withCache { fixture in
            let layer = RegistryClient.randomBytes(3 << 20)
            let digest = try await fixture.pusher(for: "library/app").pushBlob(layer, to: "library/app")
            let upstreamFile = RegistryClient(registry: fixture.upstream).blobFile(digest)
            try Data(RegistryClient.randomBytes(layer.count)).write(to: URL(fileURLWithPath: upstreamFile))

            let cache = fixture.cacheClient
            let first = try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)")
            #expect(first.status != .ok)
            #expect(first.errorCode == "DIGEST_INVALID")
            // Fixed upstream: the next pull fetches again and gets the right bytes.
            try Data(layer).write(to: URL(fileURLWithPath: upstreamFile))
            let second = try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)")
            #expect(second.status == .ok)
            #expect(second.bytes == layer)
            #expect(fixture.upstreamGets("/blobs/\(digest)") == 2)
        }
    }
}
