import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOSSL
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Pull-through cache")
struct PullThroughCacheTests {
    static let accept = ("Accept", [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].joined(separator: ", "))

    @Test func pullsThroughTheCacheFromAnUpstreamThatIssuesTokens() async throws {
        try await ProxyFixture.with { fixture in
            let layer = RegistryClient.randomBytes(300_000)
            let pushed = try await fixture.pusher(for: "library/app").pushImage(to: "library/app", tag: "v1", layers: [layer])
            let cache = fixture.cacheClient

            // `hub/app` is Docker Hub's short form: the upstream's `library/app`.
            let manifest = try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [Self.accept])
            #expect(manifest.status == .ok)
            #expect(manifest.bytes == pushed.manifest)
            #expect(manifest.header("Docker-Content-Digest") == pushed.digest.description)
            let layerDigest = RegistryClient.digest(layer)
            let blob = try await cache.request(.GET, "/v2/hub/library/app/blobs/\(layerDigest)")
            #expect(blob.status == .ok)
            #expect(blob.bytes == layer)

            // Cached now: the upstream is not asked again.
            let manifestGets = fixture.upstreamGets("/manifests/\(pushed.digest)")
            let blobGets = fixture.upstreamGets("/blobs/\(layerDigest)")
            #expect(try await cache.request(.GET, "/v2/hub/library/app/blobs/\(layerDigest)").bytes == layer)
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [Self.accept]).bytes == pushed.manifest)
            #expect(fixture.upstreamGets("/manifests/\(pushed.digest)") == manifestGets)
            #expect(fixture.upstreamGets("/blobs/\(layerDigest)") == blobGets)
            #expect(blobGets == 1)
            let head = try await cache.request(.HEAD, "/v2/hub/app/blobs/\(layerDigest)")
            #expect(head.header("Content-Length") == "\(layer.count)")

            // Tags are the upstream's, including those never pulled through the cache.
            try await fixture.pusher(for: "library/app").pushImage(to: "library/app", tag: "v2")
            let tags = try await cache.request(.GET, "/v2/hub/app/tags/list")
            #expect(tags.status == .ok)
            #expect(try tags.json()["tags"] as? [String] == ["v1", "v2"])
            #expect(try await cache.request(.GET, "/v2/hub/app/tags/list?n=1&last=v1").json()["tags"] as? [String] == ["v2"])
        }
    }

    @Test func cachedContentStillPullsWhenTheUpstreamIsDown() async throws {
        try await ProxyFixture.with(revalidate: .zero) { fixture in
            let layer = RegistryClient.randomBytes(10_000)
            let pushed = try await fixture.pusher(for: "library/app").pushImage(to: "library/app", tag: "v1", layers: [layer])
            let cache = fixture.cacheClient
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [Self.accept]).status == .ok)
            #expect(try await cache.request(.GET, "/v2/hub/app/blobs/\(RegistryClient.digest(layer))").bytes == layer)
            let other = try await fixture.pusher(for: "library/other").pushImage(to: "library/other", tag: "v1")

            await fixture.upstream.stop()
            let stale = try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [Self.accept])
            #expect(stale.status == .ok)
            #expect(stale.bytes == pushed.manifest)
            #expect(stale.header("Warning") == #"110 - "Response is Stale""#)
            #expect(try await cache.request(.GET, "/v2/hub/app/blobs/\(RegistryClient.digest(layer))").bytes == layer)
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/\(pushed.digest)").status == .ok)
            // Listing falls back on the cached tags.
            #expect(try await cache.request(.GET, "/v2/hub/app/tags/list").json()["tags"] as? [String] == ["v1"])

            // Never cached: nothing to fall back on.
            let missing = try await cache.request(.GET, "/v2/hub/other/manifests/v1", headers: [Self.accept])
            #expect(missing.status == .serviceUnavailable)
            #expect(missing.errorCode == "UNAVAILABLE")
            _ = other
        }
    }

    @Test func aMovedUpstreamTagIsServedAfterTheRevalidationInterval() async throws {
        let interval: Duration = .seconds(4)
        try await ProxyFixture.with(revalidate: interval) { fixture in
            let pusher = try await fixture.pusher(for: "library/app")
            let first = try await pusher.pushImage(to: "library/app", tag: "latest")
            // The second image is upstream beforehand, so moving the tag is one quick request.
            let second = try await pusher.pushImage(to: "library/app", tag: "next")
            let cache = fixture.cacheClient
            let cached = ContinuousClock.now
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/latest", headers: [Self.accept]).bytes == first.manifest)

            let move = try await pusher.request(
                .PUT, "/v2/library/app/manifests/latest", headers: [("Content-Type", MediaType.ociManifest)], body: second.manifest)
            #expect(move.status == .created)
            // Within the interval the cached tag is served without asking. (A machine busy with the
            // whole suite may have stalled past the interval; then asking again is right.)
            let within = try await cache.request(.GET, "/v2/hub/app/manifests/latest", headers: [Self.accept])
            if ContinuousClock.now - cached < interval {
                #expect(within.bytes == first.manifest)
            }
            try await Task.sleep(for: interval + .milliseconds(100))
            let heads = fixture.upstreamLog.count("HEAD", pathEndingWith: "/manifests/latest")
            let moved = try await cache.request(.GET, "/v2/hub/app/manifests/latest", headers: [Self.accept])
            #expect(moved.bytes == second.manifest)
            #expect(moved.header("Docker-Content-Digest") == second.digest.description)
            #expect(fixture.upstreamLog.count("HEAD", pathEndingWith: "/manifests/latest") == heads + 1)

            // Unchanged upstream: a HEAD, and no manifest body fetched.
            try await Task.sleep(for: interval + .milliseconds(100))
            let gets = fixture.upstreamLog.requests.filter { $0.method == "GET" && $0.path.contains("/manifests/") }.count
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/latest", headers: [Self.accept]).bytes == second.manifest)
            #expect(fixture.upstreamLog.requests.filter { $0.method == "GET" && $0.path.contains("/manifests/") }.count == gets)
        }
    }

    @Test func concurrentPullsOfAnUncachedBlobFetchItFromTheUpstreamOnce() async throws {
        try await ProxyFixture.with { fixture in
            let layer = RegistryClient.randomBytes(24 << 20)
            let digest = try await fixture.pusher(for: "library/big").pushBlob(layer, to: "library/big")
            let cache = fixture.cacheClient
            let results = try await withThrowingTaskGroup(of: (HTTPResponseStatus, Bool).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let reply = try await cache.request(.GET, "/v2/hub/big/blobs/\(digest)")
                        return (reply.status, reply.bytes == layer)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 20)
            #expect(results.allSatisfy { $0.0 == .ok && $0.1 })
            #expect(fixture.upstreamGets("/blobs/\(digest)") == 1)
        }
    }

    @Test func aCorruptUpstreamIsDetectedAndNothingCorruptIsStored() async throws {
        try await ProxyFixture.with { fixture in
            let layer = RegistryClient.randomBytes(3 << 20)
            let digest = try await fixture.pusher(for: "library/app").pushBlob(layer, to: "library/app")
            // The upstream's file now holds other bytes of the same length.
            let upstreamFile = RegistryClient(registry: fixture.upstream).blobFile(digest)
            try Data(RegistryClient.randomBytes(layer.count)).write(to: URL(fileURLWithPath: upstreamFile))

            let cache = fixture.cacheClient
            let outcome: HTTPResponseStatus?
            do {
                outcome = try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)").status
            } catch {
                outcome = nil  // the connection was cut before the last bytes
            }
            #expect(outcome != .ok)
            #expect(!fixture.cacheClient.blobIsOnDisk(digest))
            let again = try? await cache.request(.GET, "/v2/hub/app/blobs/\(digest)")
            #expect(again == nil || again?.status != .ok || again?.bytes != layer)
            #expect(!fixture.cacheClient.blobIsOnDisk(digest))
            let uploads = try FileManager.default.contentsOfDirectory(atPath: fixture.cacheRoot + "/uploads")
            #expect(uploads.isEmpty)
        }
    }

    @Test func pushesToTheCachedNamespaceAreRefusedAndOtherRepositoriesStayWritable() async throws {
        try await ProxyFixture.with { fixture in
            let cache = fixture.cacheClient
            let upload = try await cache.request(.POST, "/v2/hub/library/app/blobs/uploads/")
            #expect(upload.status == .methodNotAllowed)
            #expect(upload.errorCode == "UNSUPPORTED")
            #expect(upload.text.contains("cache"))
            let manifest = try await cache.request(
                .PUT, "/v2/hub/app/manifests/v1", headers: [("Content-Type", MediaType.ociManifest)], body: Array("{}".utf8))
            #expect(manifest.errorCode == "UNSUPPORTED")
            let delete = try await cache.request(.DELETE, "/v2/hub/app/manifests/v1")
            #expect(delete.errorCode == "UNSUPPORTED")

            let local = try await cache.pushImage(to: "team/app", tag: "v1")
            #expect(try await cache.request(.GET, "/v2/team/app/manifests/v1", headers: [Self.accept]).bytes == local.manifest)
        }
    }

    @Test func containerdsNamespaceParameterSelectsTheUpstream() async throws {
        try await ProxyFixture.with { fixture in
            let pushed = try await fixture.pusher(for: "library/app").pushImage(to: "library/app", tag: "v1")
            let host = "127.0.0.1:\(fixture.upstream.port)"
            let reply = try await fixture.cacheClient.request(.GET, "/v2/library/app/manifests/v1?ns=\(host)", headers: [Self.accept])
            #expect(reply.status == .ok)
            #expect(reply.bytes == pushed.manifest)
            // The spec's echo of the namespace that scoped the request, on errors too.
            #expect(reply.header("OCI-Namespace") == host)
            let missing = try await fixture.cacheClient.request(.GET, "/v2/library/nothing/manifests/v1?ns=\(host)", headers: [Self.accept])
            #expect(missing.status == .notFound)
            #expect(missing.header("OCI-Namespace") == host)
            // An `ns` no upstream answers to scopes nothing, and is not echoed.
            let unscoped = try await fixture.cacheClient.request(.GET, "/v2/library/app/manifests/v1?ns=elsewhere.example", headers: [Self.accept])
            #expect(unscoped.header("OCI-Namespace") == nil)
            // Cached under the prefix: the same content by path.
            let byPath = try await fixture.cacheClient.request(.GET, "/v2/hub/library/app/manifests/\(pushed.digest)")
            #expect(byPath.bytes == pushed.manifest)
        }
    }

    @Test func anUnknownUpstreamTagIsManifestUnknown() async throws {
        try await ProxyFixture.with { fixture in
            let reply = try await fixture.cacheClient.request(.GET, "/v2/hub/nothing/manifests/v1", headers: [Self.accept])
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == "MANIFEST_UNKNOWN")
            let blob = try await fixture.cacheClient.request(.GET, "/v2/hub/nothing/blobs/sha256:" + String(repeating: "0", count: 64))
            #expect(blob.errorCode == "BLOB_UNKNOWN")
        }
    }

    @Test func theSizeBudgetEvictsTheLeastRecentlyPulledImagesAndOnlyTheirOwnBlobs() async throws {
        try await ProxyFixture.with(configureCache: {
            $0.proxyMaxBytes = 1_000_000
            $0.proxyInUseWindow = .zero
        }) { fixture in
            let pusher = try await fixture.pusher(for: "library/app")
            var layers: [String: [UInt8]] = [:]
            for tag in ["a", "b", "c"] {
                layers[tag] = RegistryClient.randomBytes(400_000)
                try await pusher.pushImage(to: "library/app", tag: tag, layers: [layers[tag]!])
            }
            let cache = fixture.cacheClient
            for tag in ["a", "b", "c"] {
                try await cache.pullImage("hub/library/app", tag: tag)
                try await Task.sleep(for: .milliseconds(20))
            }
            let digest = { (tag: String) in RegistryClient.digest(layers[tag]!) }
            // Eviction runs in the background after each fetch.
            for _ in 0..<100 where cache.blobIsOnDisk(digest("a")) {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!cache.blobIsOnDisk(digest("a")))
            #expect(cache.blobIsOnDisk(digest("b")))
            #expect(cache.blobIsOnDisk(digest("c")))
            #expect(try cache.bytesOnDisk() <= 1_000_000)
            // Evicted is not lost: the next pull fetches it again.
            try await cache.pullImage("hub/library/app", tag: "a")
            #expect(fixture.upstreamGets("/blobs/\(digest("a"))") == 2)
        }
    }

    @Test func anUpstreamWithAPrivateCAIsTrustedThroughItsCAFile() async throws {
        let files = try CertificateAuthority.issue(hosts: ["127.0.0.1"], into: try TestRegistry.makeTemporaryDirectory())
        let upstream = try await TestRegistry.start(configure: {
            $0.tlsCertificate = files.serverCertificate
            $0.tlsKey = files.serverKey
        })
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(files.caCertificate)
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            let pushed = try await RegistryClient(registry: upstream, http: http).pushImage(to: "team/app", tag: "v1")
            try await http.shutdown()
            for trusted in [true, false] {
                try await TestRegistry.with(configure: {
                    var proxy = ProxyConfiguration(name: "corp", url: upstream.baseURL)
                    proxy.ca = trusted ? files.caCertificate : nil
                    $0.proxies = [proxy]
                }) { cache in
                    let reply = try await cache.request(.GET, "/v2/corp/team/app/manifests/v1", headers: [Self.accept])
                    if trusted {
                        #expect(reply.status == .ok)
                        #expect(reply.bytes == pushed.manifest)
                    } else {
                        // An unverifiable certificate is an unreachable upstream, not content.
                        #expect(reply.status == .serviceUnavailable)
                    }
                }
            }
        } catch {
            await upstream.stop()
            throw error
        }
        await upstream.stop()
    }
}
