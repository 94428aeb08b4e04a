import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// Two `registry serve` processes' worth of registries on one PostgreSQL database and one
/// storage root, as replicas behind a load balancer would be. Needs the PostgreSQL that
/// `scripts/engines/start.sh` starts (`.ci/run` always does).
/// The database `scripts/engines/start.sh` started, if any.
private let replicaPostgresURL = ProcessInfo.processInfo.environment["REGISTRY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// Where the replicas keep blobs: a shared root, or the bucket `scripts/engines/start.sh`'s
/// radosgw serves (when it runs).
enum ReplicaStorage: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sharedRoot
    case s3

    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var available: [ReplicaStorage] { environment["REGISTRY_TEST_S3_ENDPOINT"] == nil ? [.sharedRoot] : [.sharedRoot, .s3] }
    var testDescription: String { rawValue }

    func apply(to configuration: inout RegistryConfiguration, prefix: String) {
        guard self == .s3 else { return }
        let environment = Self.environment
        configuration.blobStorage.driver = .s3
        configuration.blobStorage.endpoint = environment["REGISTRY_TEST_S3_ENDPOINT"]
        configuration.blobStorage.bucket = environment["REGISTRY_TEST_S3_BUCKET"]
        configuration.blobStorage.region = environment["REGISTRY_TEST_S3_REGION"] ?? "us-east-1"
        configuration.blobStorage.accessKey = environment["REGISTRY_TEST_S3_ACCESS_KEY"]
        configuration.blobStorage.secretKey = environment["REGISTRY_TEST_S3_SECRET_KEY"]
        configuration.blobStorage.prefix = prefix
        // Small parts: the tests' blobs cross part boundaries.
        configuration.blobStorage.partSize = 5 << 20
    }
}

@Suite(
    "Replicas on one PostgreSQL database",
    .enabled(if: replicaPostgresURL != nil, "set REGISTRY_TEST_POSTGRES_URL (eval \"$(scripts/engines/start.sh)\") to run"))
struct ReplicaTests {
    static let postgresURL = replicaPostgresURL

    /// Replicas A and B sharing a fresh schema of the database and the blob storage (a root, or a
    /// fresh key prefix of the bucket).
    static func withReplicas(
        _ storage: ReplicaStorage, redirect: Bool = false, _ body: (RegistryClient, RegistryClient) async throws -> Void
    ) async throws {
        try await withReplicas(storage, redirect: redirect) { a, b, _ in try await body(a, b) }
    }

    /// Also hands `body` the replicas' configuration, as a maintenance command would load it.
    static func withReplicas(
        _ storage: ReplicaStorage, redirect: Bool = false, configure extra: @escaping @Sendable (inout RegistryConfiguration) -> Void = { _ in },
        _ body: (RegistryClient, RegistryClient, RegistryConfiguration) async throws -> Void
    ) async throws {
        let root = try TestRegistry.makeTemporaryDirectory()
        let schema = "replicas_\(UInt32.random(in: .min ... .max))"
        let configure: @Sendable (inout RegistryConfiguration) -> Void = { configuration in
            extra(&configuration)
            storage.apply(to: &configuration, prefix: schema + "/")
            configuration.blobStorage.redirect = redirect
            configuration.metadata.driver = .postgres
            configuration.metadata.url = postgresURL
            configuration.metadata.schema = schema
            configuration.metadata.poolSize = 4
            // Only references protect content: what a collection must keep, it keeps by rule.
            configuration.gcGracePeriod = .zero
        }
        let a = try await TestRegistry.start(root: root, configure: configure)
        let b: TestRegistry
        do {
            b = try await TestRegistry.start(root: root, configure: configure)
        } catch {
            await a.stop()
            throw error
        }
        var configuration = RegistryConfiguration()
        configuration.root = root
        configure(&configuration)
        do {
            try await body(RegistryClient(registry: a), RegistryClient(registry: b), configuration)
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
        await a.stop()
        await b.stop()
    }

    /// `registry scrub` and `registry gc` with the replicas' configuration work on the storage
    /// the replicas share (the bucket, not the local root) and their database.
    @Test(arguments: ReplicaStorage.available)
    func scrubAndCollectionCommandsWorkOnTheReplicasStorage(_ storage: ReplicaStorage) async throws {
        try await Self.withReplicas(storage) { a, b, configuration in
            let kept = RegistryClient.randomBytes(6000)
            let dropped = RegistryClient.randomBytes(7000)
            try await a.pushImage(to: "team/app", tag: "v1", layers: [kept])
            let (_, doomed) = try await b.pushImage(to: "team/gone", tag: "v1", layers: [dropped])
            let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

            let maintenance = try await RootMaintenance.open(configuration, logger: quiet)
            do {
                let scrub = try await maintenance.scrub(repair: false)
                #expect(scrub.clean, "\(scrub.text)")

                #expect(try await a.request(.DELETE, "/v2/team/gone/manifests/\(doomed)").status == .accepted)
                let report = try await maintenance.collectGarbage(deleteUntagged: true, dryRun: false, json: false)
                #expect(report.contains("deleted"), "\(report)")
                try await maintenance.close()
            } catch {
                try? await maintenance.close()
                throw error
            }
            // The collection removed the bytes of what nothing uses from the shared storage,
            // and nothing else: both replicas still serve the kept image.
            #expect(try await b.request(.GET, "/v2/team/gone/blobs/\(RegistryClient.digest(dropped))").status == .notFound)
            try await a.pullImage("team/app", tag: "v1")
            try await b.pullImage("team/app", tag: "v1")
            let again = try await RootMaintenance.open(configuration, logger: quiet)
            let scrub = try await again.scrub(repair: false)
            try await again.close()
            #expect(scrub.clean, "\(scrub.text)")
        }
    }

    /// The immutable-tag check runs inside the write's transaction, under the write lock all
    /// replicas share: of first pushes of one protected tag racing through both, one is stored.
    @Test func racingFirstPushesOfAProtectedTagThroughBothReplicasStoreOne() async throws {
        let rule = ImmutableTagRule(name: "releases", repositories: [RepositoryPattern("team/**")], tags: TagExpression(#"v[0-9]+\..*"#)!)
        try await Self.withReplicas(.sharedRoot, configure: { $0.immutableTags = ImmutableTagRules([rule]) }) { a, b, _ in
            var images: [(manifest: [UInt8], digest: Digest)] = []
            for build in 0..<12 { images.append(try await a.pushImage(to: "team/app", tag: "build-\(build)")) }
            let statuses = try await withThrowingTaskGroup(of: (Digest, UInt).self) { group in
                for (index, image) in images.enumerated() {
                    let replica = index.isMultiple(of: 2) ? a : b
                    group.addTask {
                        let reply = try await replica.request(
                            .PUT, "/v2/team/app/manifests/v1.0", headers: [("Content-Type", MediaType.ociManifest)], body: image.manifest)
                        return (image.digest, reply.status.code)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            let stored = statuses.filter { $0.value == 201 }.map(\.key)
            #expect(stored.count == 1)
            #expect(statuses.values.filter { $0 == 409 }.count == images.count - 1)
            for replica in [a, b] {
                let pulled = try await replica.request(.HEAD, "/v2/team/app/manifests/v1.0", headers: [("Accept", MediaType.ociManifest)])
                #expect(pulled.header("Docker-Content-Digest") == stored.first?.description)
            }
        }
    }

    @Test(arguments: ReplicaStorage.available)
    func anImagePushedThroughOneReplicaIsPulledThroughTheOther(_ storage: ReplicaStorage) async throws {
        try await Self.withReplicas(storage) { a, b in
            let (manifest, digest) = try await a.pushImage(to: "team/app", tag: "v1")
            let pulled = try await b.request(.GET, "/v2/team/app/manifests/v1", headers: [("Accept", MediaType.ociManifest)])
            #expect(pulled.bytes == manifest)
            #expect(pulled.header("Docker-Content-Digest") == digest.description)
            #expect(try await b.request(.GET, "/v2/team/app/tags/list").json()["tags"] as? [String] == ["v1"])
        }
    }

    @Test(arguments: ReplicaStorage.available)
    func aChunkedUploadWhoseChunksAlternateBetweenReplicasCompletes(_ storage: ReplicaStorage) async throws {
        try await Self.withReplicas(storage) { a, b in
            let data = RegistryClient.randomBytes(600_000)
            let location = try #require(try await a.request(.POST, "/v2/team/app/blobs/uploads/").header("Location"))
            let chunk = 100_000
            for index in 0..<6 {
                let replica = index.isMultiple(of: 2) ? a : b
                let reply = try await replica.request(
                    .PATCH, location, headers: [("Content-Range", "\(index * chunk)-\((index + 1) * chunk - 1)")],
                    body: Array(data[(index * chunk)..<((index + 1) * chunk)]))
                #expect(reply.status == .accepted, "chunk \(index): \(reply.text)")
                #expect(reply.header("Range") == "0-\((index + 1) * chunk - 1)")
            }
            let digest = RegistryClient.digest(data)
            #expect(try await b.request(.PUT, location + "?digest=\(digest)").status == .created)
            #expect(try await a.request(.GET, "/v2/team/app/blobs/\(digest)").bytes == data)
        }
    }

    @Test(arguments: ReplicaStorage.available)
    func aTagMovedOnOneReplicaIsServedByTheOtherWithinASecond(_ storage: ReplicaStorage) async throws {
        try await Self.withReplicas(storage) { a, b in
            let config = try await a.pushBlob(Array("{}".utf8), to: "team/app")
            var delays: [Duration] = []
            for round in 0..<5 {
                var object = try JSONSerialization.jsonObject(with: Data(try RegistryClient.emptyImageManifest(config: config, size: 2))) as! [String: Any]
                object["annotations"] = ["round": "\(round)"]
                let manifest = try RegistryClient.json(object)
                // B has the old answer cached.
                _ = try await b.request(.GET, "/v2/team/app/manifests/moving", headers: [("Accept", MediaType.ociManifest)])
                let pushed = try await a.request(.PUT, "/v2/team/app/manifests/moving", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
                #expect(pushed.status == .created)
                let moved = ContinuousClock.now
                var served: String?
                repeat {
                    served = try await b.request(.HEAD, "/v2/team/app/manifests/moving").header("Docker-Content-Digest")
                    if served == RegistryClient.digest(manifest).description { break }
                    try await Task.sleep(for: .milliseconds(20))
                } while ContinuousClock.now - moved < .seconds(10)
                #expect(served == RegistryClient.digest(manifest).description, "round \(round)")
                delays.append(ContinuousClock.now - moved)
            }
            // Within a second as a rule: the median, and all rounds but one. The suite runs its
            // tests in parallel on a machine with few cores, so one round may be scheduled late
            // (CI saw 1.7 s once, in the same round of both cases at the same moment); a second
            // late round, or a round that never sees the tag move, is a fault of ours (CI has also
            // seen the whole process stall for 4 s, hence the 10 s above). The cluster suite
            // measures the same on an idle machine (scripts/interop/cluster.py).
            #expect(delays.sorted()[delays.count / 2] <= .seconds(1), "\(delays)")
            #expect(delays.filter { $0 > .seconds(1) }.count <= 1, "\(delays)")
        }
    }

    @Test(arguments: ReplicaStorage.available)
    func collectionsOnOneReplicaLoseNothingPushedThroughTheOther(_ storage: ReplicaStorage) async throws {
        try await Self.withReplicas(storage) { a, b in
            var pushed: [(String, [UInt8])] = []
            for index in 0..<8 {
                let (manifest, _) = try await b.pushImage(to: "team/app", tag: "t\(index)")
                pushed.append(("t\(index)", manifest))
                // With no grace period, only B's committed references protect its images.
                _ = try await a.collectGarbage()
            }
            for (tag, manifest) in pushed {
                let reply = try await a.request(.GET, "/v2/team/app/manifests/\(tag)", headers: [("Accept", MediaType.ociManifest)])
                #expect(reply.bytes == manifest)
            }
        }
    }

    @Test(.enabled(if: ReplicaStorage.available.contains(.s3), "needs the radosgw of scripts/engines/start.sh"))
    func blobDownloadsRedirectToAPresignedURLOfTheBucket() async throws {
        try await Self.withReplicas(.s3, redirect: true) { a, b in
            let bytes = RegistryClient.randomBytes(300_000)
            let digest = try await a.pushBlob(bytes, to: "team/app")
            let noRedirects = HTTPClient(configuration: .init(redirectConfiguration: .disallow))
            do {
                var direct = b
                direct.http = noRedirects
                let answer = try await direct.request(.GET, "/v2/team/app/blobs/\(digest)")
                #expect(answer.status == .temporaryRedirect)
                #expect(answer.header("Docker-Content-Digest") == digest.description)
                let location = try #require(answer.header("Location"))
                #expect(location.contains("X-Amz-Signature="))
                // The URL alone, without the registry or credentials, fetches the bytes.
                let fetched = try await HTTPClient.shared.execute(HTTPClientRequest(url: location), timeout: .seconds(30))
                #expect(try await fetched.body.collect(upTo: 1 << 20) == ByteBuffer(bytes: bytes))
                // A blob the repository may not read gets no URL.
                let elsewhere = try await direct.request(.GET, "/v2/team/other/blobs/\(digest)")
                #expect(elsewhere.status == .notFound)
                // HEAD answers itself.
                #expect(try await direct.request(.HEAD, "/v2/team/app/blobs/\(digest)").header("Content-Length") == "300000")
            } catch {
                try? await noRedirects.shutdown()
                throw error
            }
            try await noRedirects.shutdown()
        }
    }

    /// A pull streams from the bucket's socket to the client's on one event loop. A client
    /// that goes away after the first bytes ends that GET, and nothing of it stays behind: the
    /// next pulls, whole and ranged, get exactly the blob's bytes.
    @Test(.enabled(if: ReplicaStorage.available.contains(.s3), "needs the radosgw of scripts/engines/start.sh"))
    func aClientLeavingMidPullLeavesTheNextPullsWhole() async throws {
        try await Self.withReplicas(.s3) { a, b in
            let bytes = RegistryClient.randomBytes(8 << 20)
            let digest = try await a.pushBlob(bytes, to: "team/app")
            let url = "\(b.registry.baseURL)/v2/team/app/blobs/\(digest)"
            for _ in 0..<5 {
                let leaving = LeavesAfterFirstBytes()
                let request = try HTTPClient.Request(url: url)
                let task = HTTPClient.shared.execute(request: request, delegate: leaving)
                await #expect(throws: LeavesAfterFirstBytes.Left.self) { try await task.futureResult.get() }
            }
            let whole = try await b.request(.GET, "/v2/team/app/blobs/\(digest)")
            #expect(whole.status == .ok && whole.bytes == bytes)
            let ranged = try await b.request(.GET, "/v2/team/app/blobs/\(digest)", headers: [("Range", "bytes=1000-1999")])
            #expect(ranged.status == .partialContent && ranged.bytes == Array(bytes[1000..<2000]))
            // Many at once: each has its own GET, on its own connection's event loop.
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await b.request(.GET, "/v2/team/app/blobs/\(digest)").bytes == bytes } }
                for try await same in group { #expect(same) }
            }
        }
    }
}

/// A client that reads the first part of a response body and hangs up.
private final class LeavesAfterFirstBytes: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void
    struct Left: Error {}

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        task.eventLoop.makeFailedFuture(Left())
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {}
}
