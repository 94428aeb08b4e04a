import Foundation
import Logging
import NIOConcurrencyHelpers
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// `GET /metrics` against a real server: each test scrapes, does real pushes and pulls, scrapes
/// again and checks that the numbers moved by exactly what was done. Every scrape goes through
/// a real Prometheus text-format parser (``PrometheusScrape``).
@Suite("Prometheus metrics")
struct MetricsTests {
    /// Storage gauges read at every scrape, so that a scrape right after a push sees it.
    private static func fresh(_ configuration: inout RegistryConfiguration) {
        configuration.metrics.storageRefresh = nil
        configuration.gcInterval = nil
    }

    /// A chunked upload: `POST`, one `PATCH` per chunk but the last, `PUT` with the last.
    private func pushInChunks(_ chunks: [[UInt8]], to repository: String, _ client: RegistryClient) async throws -> Digest {
        let digest = RegistryClient.digest(chunks.flatMap { $0 })
        let started = try await client.request(.POST, "/v2/\(repository)/blobs/uploads/")
        var location = try #require(started.header("Location"))
        var offset = 0
        for chunk in chunks.dropLast() {
            let patched = try await client.request(
                .PATCH, location, headers: [("Content-Range", "\(offset)-\(offset + chunk.count - 1)"), ("Content-Type", "application/octet-stream")],
                body: chunk)
            #expect(patched.status == .accepted)
            location = try #require(patched.header("Location"))
            offset += chunk.count
        }
        let separator = location.contains("?") ? "&" : "?"
        let put = try await client.request(.PUT, location + separator + "digest=\(digest)", body: chunks.last ?? [])
        #expect(put.status == .created)
        return digest
    }

    @Test func pushesAndPullsMoveTheCountersByExactlyWhatWasTransferred() async throws {
        try await TestRegistry.with(configure: Self.fresh) { client in
            let before = try await client.scrape()
            #expect(before.value("registry_bytes_pushed_total") == 0)
            #expect(before.value("registry_uploads_in_progress") == 0)

            let whole = RegistryClient.randomBytes(1000)
            let wholeDigest = try await client.pushBlob(whole, to: "team/app")
            let chunked = try await pushInChunks([RegistryClient.randomBytes(700), RegistryClient.randomBytes(300)], to: "team/app", client)
            #expect(try await client.request(.GET, "/v2/team/app/blobs/\(wholeDigest)").bytes == whole)
            #expect(try await client.request(.HEAD, "/v2/team/app/blobs/\(wholeDigest)").status == .ok)
            let ranged = try await client.request(.GET, "/v2/team/app/blobs/\(chunked)", headers: [("Range", "bytes=0-99")])
            #expect(ranged.status == .partialContent)
            let unknown = RegistryClient.digest(RegistryClient.randomBytes(10))
            #expect(try await client.request(.GET, "/v2/team/app/blobs/\(unknown)").status == .notFound)
            #expect(try await client.request(.GET, "/healthz").status == .ok)

            let after = try await client.scrape()
            func moved(_ name: String, _ labels: [String: String] = [:]) -> Double {
                after.value(name, labels) - before.value(name, labels)
            }
            // Upload bodies: 1000 monolithic, 700 + 300 in chunks. Pulled: one whole blob and a
            // 100-byte range; a HEAD sends no body.
            #expect(moved("registry_bytes_pushed_total") == 2000)
            #expect(moved("registry_bytes_pulled_total") == 1100)
            #expect(after.value("registry_uploads_in_progress") == 0)

            // Uploads: the monolithic POST, and POST, PATCH, PUT of the chunked one.
            #expect(moved("registry_http_requests_total", ["route": "upload", "status": "2xx"]) == 4)
            #expect(moved("registry_http_requests_total", ["route": "upload", "method": "PATCH", "status": "2xx"]) == 1)
            #expect(moved("registry_http_requests_total", ["route": "blob", "method": "GET", "status": "2xx"]) == 2)
            #expect(moved("registry_http_requests_total", ["route": "blob", "method": "HEAD", "status": "2xx"]) == 1)
            #expect(moved("registry_http_requests_total", ["route": "blob", "status": "4xx"]) == 1)
            #expect(moved("registry_http_requests_total", ["route": "health"]) == 1)
            // The first scrape is counted by the time of the second.
            #expect(after.value("registry_http_requests_total", ["route": "metrics", "method": "GET", "status": "2xx"]) == 1)
            #expect(after.type(of: "registry_http_requests") == "counter")

            // Latency: one observation per request, by route and method.
            #expect(after.type(of: "registry_http_request_duration_seconds") == "histogram")
            #expect(moved("registry_http_request_duration_seconds_count", ["route": "upload"]) == 4)
            #expect(moved("registry_http_request_duration_seconds_count", ["route": "blob", "method": "GET"]) == 3)
            #expect(after.value("registry_http_request_duration_seconds_bucket", ["route": "blob", "method": "HEAD", "le": "+Inf"]) == 1)

            // Storage, from the metadata database: the two blobs, once each; no session open.
            #expect(after.value("registry_storage_blobs") == 2)
            #expect(after.value("registry_storage_bytes") == 2000)
            #expect(after.value("registry_storage_shared_bytes_saved") == 0)
            #expect(after.value("registry_upload_sessions") == 0)

            // Bounded labels: no repository anywhere unless asked for.
            #expect(!after.labelNames.contains("repository"))
            #expect(after.labelNames.isSubset(of: ["route", "method", "status", "le", "content", "outcome"]))
        }
    }

    @Test func anOpenUploadSessionIsCountedUntilItIsCancelled() async throws {
        try await TestRegistry.with(configure: Self.fresh) { client in
            let started = try await client.request(.POST, "/v2/team/app/blobs/uploads/")
            let location = try #require(started.header("Location"))
            _ = try await client.request(.PATCH, location, body: RegistryClient.randomBytes(512))
            let open = try await client.scrape()
            #expect(open.value("registry_upload_sessions") == 1)
            #expect(open.value("registry_bytes_pushed_total") == 512)
            #expect(open.value("registry_uploads_in_progress") == 0)

            #expect(try await client.request(.DELETE, location).status == .noContent)
            #expect(try await client.scrape().value("registry_upload_sessions") == 0)
        }
    }

    @Test func aMountedBlobCountsAsBytesSavedBySharing() async throws {
        try await TestRegistry.with(configure: Self.fresh) { client in
            let layer = RegistryClient.randomBytes(1500)
            let digest = try await client.pushBlob(layer, to: "team/one")
            let mounted = try await client.request(.POST, "/v2/team/two/blobs/uploads/?mount=\(digest)&from=team/one")
            #expect(mounted.status == .created)
            let other = try await client.request(.POST, "/v2/team/three/blobs/uploads/?mount=\(digest)&from=team/one")
            #expect(other.status == .created)

            let scrape = try await client.scrape()
            // Three repositories link it, the store holds it once: two copies saved.
            #expect(scrape.value("registry_storage_blobs") == 1)
            #expect(scrape.value("registry_storage_bytes") == 1500)
            #expect(scrape.value("registry_storage_shared_bytes_saved") == 3000)
            // A mount uploads nothing.
            #expect(scrape.value("registry_bytes_pushed_total") == 1500)
        }
    }

    @Test func aTokenProtectsTheEndpoint() async throws {
        try await TestRegistry.with(configure: {
            Self.fresh(&$0)
            $0.metrics.token = "scrape-secret"
        }) { client in
            let anonymous = try await client.request(.GET, "/metrics")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try await client.request(.GET, "/metrics", headers: [("Authorization", "Bearer wrong")]).status == .unauthorized)
            #expect(try await client.request(.GET, "/metrics", headers: [("Authorization", "Basic c2NyYXBlLXNlY3JldA==")]).status == .unauthorized)
            let scrape = try await client.scrape(token: "scrape-secret")
            // The refused scrapes were counted like any request.
            #expect(scrape.value("registry_http_requests_total", ["route": "metrics", "status": "4xx"]) == 3)
            // The registry's own endpoints are untouched by the metrics token.
            #expect(try await client.request(.GET, "/v2/").status == .ok)
        }
    }

    @Test func aTokenFileIsReadAtStart() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        let file = directory + "/metrics-token"
        try "from-a-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        try await TestRegistry.with(configure: { $0.metrics.tokenFile = file }) { client in
            #expect(try await client.request(.GET, "/metrics").status == .unauthorized)
            _ = try await client.scrape(token: "from-a-file")
        }
    }

    @Test func aSeparateListenerServesTheMetricsAndOnlyThem() async throws {
        let listeners = ListenerRecorder()
        let registry = try await TestRegistry.start(logHandler: listeners.makeHandler()) {
            Self.fresh(&$0)
            $0.metrics.host = "127.0.0.1"
            $0.metrics.port = 0
        }
        do {
            let client = RegistryClient(registry: registry)
            let port = try await listeners.metricsPort()
            let metricsURL = "http://127.0.0.1:\(port)"
            try await client.pushBlob(RegistryClient.randomBytes(64), to: "team/app")

            let scrape = try await client.scrape(baseURL: metricsURL)
            #expect(scrape.value("registry_bytes_pushed_total") == 64)
            #expect(scrape.value("registry_http_requests_total", ["route": "upload", "status": "2xx"]) == 1)
            // Not on the registry's listener, and nothing but /metrics on the metrics one.
            #expect(try await client.request(.GET, "/metrics").status == .notFound)
            #expect(try await client.request(.GET, metricsURL + "/v2/").status == .notFound)
            #expect(try await client.request(.POST, metricsURL + "/metrics").status == .methodNotAllowed)
            await registry.stop()
        } catch {
            await registry.stop()
            throw error
        }
    }

    @Test func disabledMetricsAreNotServed() async throws {
        try await TestRegistry.with(configure: { $0.metrics.enabled = false }) { client in
            #expect(try await client.request(.GET, "/metrics").status == .notFound)
            try await client.pushBlob(RegistryClient.randomBytes(64), to: "team/app")
        }
    }

    @Test func perRepositoryLabelsAppearOnlyWhenConfigured() async throws {
        try await TestRegistry.with(configure: {
            Self.fresh(&$0)
            $0.metrics.perRepository = true
        }) { client in
            let layer = RegistryClient.randomBytes(400)
            let digest = try await client.pushBlob(layer, to: "team/app")
            _ = try await client.request(.GET, "/v2/team/app/blobs/\(digest)")
            #expect(try await client.request(.GET, "/v2/no/such-thing/blobs/\(digest)").status == .notFound)

            let scrape = try await client.scrape()
            #expect(scrape.value("registry_bytes_pushed_total", ["repository": "team/app"]) == 400)
            #expect(scrape.value("registry_bytes_pulled_total", ["repository": "team/app"]) == 400)
            #expect(scrape.value("registry_http_requests_total", ["repository": "team/app", "route": "blob", "status": "2xx"]) == 1)
            // A failed request's repository is not a label value: unknown names add no series.
            #expect(!scrape.samples.contains { $0.labels["repository"] == "no/such-thing" })
            #expect(scrape.value("registry_http_requests_total", ["repository": "", "route": "blob", "status": "4xx"]) == 1)
        }
    }

    @Test func failedAndThrottledLoginsAreCounted() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        let htpasswd = directory + "/htpasswd"
        try Htpasswd.setPassword("alice-pw", for: "alice", in: htpasswd, cost: 4)
        try await TestRegistry.with(configure: {
            Self.fresh(&$0)
            $0.htpasswd = htpasswd
        }) { client in
            // The throttle lets five wrong passwords through to the check, then refuses unchecked.
            for _ in 0..<6 {
                _ = try await client.request(.GET, "/v2/", headers: [AuthTests.basic("alice", "guess")])
            }
            #expect(try await client.request(.GET, "/v2/", headers: [AuthTests.basic("alice", "alice-pw")]).status == .tooManyRequests)
            let scrape = try await client.scrape()
            #expect(scrape.value("registry_login_failures_total") == 5)
            #expect(scrape.value("registry_login_throttled_total") == 2)
            #expect(scrape.value("registry_http_requests_total", ["route": "base", "status": "4xx"]) == 7)
        }
    }

    @Test func garbageCollectionRunsAndWhatTheyReclaimAreCounted() async throws {
        try await TestRegistry.with(configure: {
            Self.fresh(&$0)
            $0.gcGracePeriod = .zero
        }) { client in
            // A blob no manifest references: the collection takes it.
            try await client.pushBlob(RegistryClient.randomBytes(1234), to: "team/app")
            let deleted = try await client.collectGarbage()
            #expect(deleted["bytes_reclaimed"] as? Int == 1234)
            _ = try await client.collectGarbage(dryRun: true)

            let scrape = try await client.scrape()
            #expect(scrape.value("registry_gc_runs_total", ["outcome": "completed"]) == 1)
            #expect(scrape.value("registry_gc_runs_total", ["outcome": "dry_run"]) == 1)
            #expect(scrape.value("registry_gc_bytes_reclaimed_total") == 1234)
            #expect(scrape.value("registry_gc_blobs_deleted_total") == 1)
            #expect(scrape.value("registry_gc_duration_seconds_count") == 2)
            #expect(scrape.value("registry_storage_blobs") == 0)
            #expect(scrape.value("registry_http_requests_total", ["route": "admin", "method": "POST", "status": "2xx"]) == 2)
        }
    }

    @Test func pullThroughCacheHitsMissesAndUpstreamErrorsAreCounted() async throws {
        try await ProxyFixture.with(configureCache: Self.fresh) { fixture in
            let layer = RegistryClient.randomBytes(5000)
            try await fixture.pusher(for: "library/app").pushImage(to: "library/app", tag: "v1", layers: [layer])
            let cache = fixture.cacheClient
            let accept = ("Accept", MediaType.ociManifest)
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [accept]).status == .ok)
            #expect(try await cache.request(.GET, "/v2/hub/app/manifests/v1", headers: [accept]).status == .ok)
            let digest = RegistryClient.digest(layer)
            #expect(try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)").bytes == layer)
            #expect(try await cache.request(.GET, "/v2/hub/app/blobs/\(digest)").bytes == layer)

            await fixture.upstream.stop()
            let missing = RegistryClient.digest(RegistryClient.randomBytes(10))
            #expect(try await cache.request(.GET, "/v2/hub/app/blobs/\(missing)").status == .serviceUnavailable)

            let scrape = try await cache.scrape()
            #expect(scrape.value("registry_proxy_cache_misses_total", ["content": "manifest"]) == 1)
            #expect(scrape.value("registry_proxy_cache_hits_total", ["content": "manifest"]) == 1)
            #expect(scrape.value("registry_proxy_cache_misses_total", ["content": "blob"]) == 2)
            #expect(scrape.value("registry_proxy_cache_hits_total", ["content": "blob"]) == 1)
            #expect(scrape.value("registry_proxy_upstream_errors_total") == 1)
            // What the cache served counts as pulled.
            #expect(scrape.value("registry_bytes_pulled_total") == 2 * 5000)
        }
    }
}

/// Learns the metrics listener's port from the server's "listening" log line (it binds port 0).
private final class ListenerRecorder: Sendable {
    private let port = NIOLockedValueBox<Int?>(nil)

    func makeHandler() -> @Sendable (String) -> any LogHandler {
        { _ in Handler(recorder: self) }
    }

    func metricsPort() async throws -> Int {
        for _ in 0..<200 {
            if let port = port.withLockedValue({ $0 }) { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the metrics listener did not report its address")
    }

    private struct Handler: LogHandler {
        let recorder: ListenerRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            guard event.message.description == "listening", metadata["listener"]?.description == "metrics",
                  let address = event.metadata?["address"]?.description,
                  let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...])
            else { return }
            recorder.port.withLockedValue { $0 = port }
        }
    }
}
