import Foundation
import Logging
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// PostgreSQL and S3 of `scripts/engines/start.sh`, when it runs.
private let clusterEnginesRun =
    ProcessInfo.processInfo.environment["REGISTRY_TEST_POSTGRES_URL"].map { !$0.isEmpty } == true
    && ProcessInfo.processInfo.environment["REGISTRY_TEST_S3_ENDPOINT"] != nil

/// `registry migrate`: a root filled by pushes through a real server is copied into another
/// root (filesystem + SQLite) or into PostgreSQL + S3, and everything is pulled back from a
/// server on the destination and compared byte for byte. One test at a time: each holds two
/// registries and megabytes of blobs, which the suites that measure memory and timing feel.
@Suite("Migrating a single-node registry into a cluster", .serialized)
struct ClusterMigrationTests {
    static let logger = Logger(label: "migration-test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aRootIsCopiedIntoAnotherRootAndServedByteForByte() async throws {
        let source = try await SourceRegistry.make()
        let destination = Destination.root(try TestRegistry.makeTemporaryDirectory())
        let progress = MigrationProgress()
        let report = try await ClusterMigration.run(
            fromRoot: source.root, to: destination.configuration, progress: progress, logger: Self.logger)
        #expect(report.failures == [])
        #expect(report.repositories == 2)
        #expect(report.blobsCopied == source.distinctBlobs.count)
        #expect(report.bytesCopied == source.distinctBlobs.values.reduce(0) { $0 + Int64($1.count) })
        #expect(report.linksMounted == source.blobsOfBothRepositories, "team/other's shared blobs come from team/app's copies")
        #expect(report.manifestsCopied == source.manifestCount)
        #expect(report.tagsSet == source.tagCount)
        #expect(report.uploadSessionsDropped == 1)
        #expect(progress.line?.hasPrefix("blobs \(source.distinctBlobs.count)/\(source.distinctBlobs.count) ") == true)
        #expect(progress.line?.hasSuffix("manifests \(source.manifestCount)/\(source.manifestCount)  tags \(source.tagCount)/\(source.tagCount)") == true)
        try await destination.withServer { try await source.expectServed(by: $0) }
    }

    @Test(.enabled(if: clusterEnginesRun, "set REGISTRY_TEST_POSTGRES_URL and REGISTRY_TEST_S3_* (eval \"$(scripts/engines/start.sh)\") to migrate into PostgreSQL + S3"))
    func aRootIsCopiedIntoPostgresAndS3AndASecondRunCopiesNothing() async throws {
        let source = try await SourceRegistry.make()
        let destination = Destination.cluster(root: try TestRegistry.makeTemporaryDirectory(), name: "migration_\(UInt32.random(in: .min ... .max))")
        let report = try await ClusterMigration.run(fromRoot: source.root, to: destination.configuration, logger: Self.logger)
        #expect(report.failures == [])
        #expect(report.blobsCopied == source.distinctBlobs.count)
        #expect(report.manifestsCopied == source.manifestCount)
        try await destination.withServer { try await source.expectServed(by: $0) }

        let again = try await ClusterMigration.run(fromRoot: source.root, to: destination.configuration, logger: Self.logger)
        #expect(again.blobsCopied == 0 && again.bytesCopied == 0 && again.manifestsCopied == 0 && again.tagsSet == 0)
        #expect(again.blobsPresent == source.distinctBlobs.count)
        #expect(again.manifestsPresent == source.manifestCount)
        #expect(again.tagsPresent == source.tagCount)
    }

    @Test func aRunStoppedAfterSomeBlobsShowsNothingHalfCopiedAndTheNextRunFinishesIt() async throws {
        let source = try await SourceRegistry.make()
        let destination = Destination.root(try TestRegistry.makeTemporaryDirectory())
        let stop = ClusterMigration.Options(parallelBlobs: 1, stopAfterCopiedBlobs: 2)
        await #expect(throws: MigrationError.stopped(afterCopiedBlobs: 2)) {
            try await ClusterMigration.run(fromRoot: source.root, to: destination.configuration, options: stop, logger: Self.logger)
        }
        try await destination.withServer { client throws in
            // Blobs before manifests, manifests before tags: no tag or manifest yet, so no image
            // can be pulled half-copied.
            #expect(try await client.request(.GET, "/v2/team/app/tags/list").json()["tags"] as? [String] ?? [] == [])
            for digest in source.manifests["team/app"]!.keys {
                #expect(try await client.request(.HEAD, "/v2/team/app/manifests/\(digest)").status == .notFound)
            }
        }

        let finished = try await ClusterMigration.run(fromRoot: source.root, to: destination.configuration, logger: Self.logger)
        #expect(finished.failures == [])
        #expect(finished.blobsPresent == 2, "the two blobs of the stopped run are skipped")
        #expect(finished.blobsCopied == source.distinctBlobs.count - 2)
        #expect(finished.manifestsCopied == source.manifestCount)
        try await destination.withServer { try await source.expectServed(by: $0) }
    }

    @Test func aSourceBlobWhoseBytesChangedOnDiskIsReportedAndNotCopied() async throws {
        let source = try await SourceRegistry.make()
        let corrupt = source.otherLayer
        let file = source.blobFile(corrupt)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[0] ^= 0xFF
        try FileManager.default.removeItem(atPath: file)
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let destination = Destination.root(try TestRegistry.makeTemporaryDirectory())
        let report = try await ClusterMigration.run(fromRoot: source.root, to: destination.configuration, logger: Self.logger)
        #expect(report.failures.count == 2, "the blob, and the manifest that needs it: \(report.failures)")
        #expect(report.failures.contains { $0.hasPrefix("blob \(corrupt)") && $0.contains("do not match the digest") })
        #expect(report.failures.contains { $0.hasPrefix("manifest team/other@\(source.otherImage)") })
        #expect(report.summary.contains("not copied: 2"))
        #expect(!FileManager.default.fileExists(atPath: destination.blobFile(corrupt)))
        try await destination.withServer { client throws in
            #expect(try await client.request(.HEAD, "/v2/team/other/blobs/\(corrupt)").status == .notFound)
            #expect(try await client.request(.HEAD, "/v2/team/other/manifests/\(source.otherImage)").status == .notFound)
            #expect(try await client.request(.GET, "/v2/team/other/tags/list").json()["tags"] as? [String] == ["shared"])
            try await client.pullImage("team/other", tag: "shared")
            try await client.pullImage("team/app", tag: "v1")
        }
    }

    @Test func aDirectoryWithoutARegistryDatabaseIsRefused() async throws {
        let empty = try TestRegistry.makeTemporaryDirectory()
        let destination = Destination.root(try TestRegistry.makeTemporaryDirectory())
        await #expect(throws: MigrationError.noRegistryDatabase(root: empty, expected: empty + "/metadata.sqlite")) {
            try await ClusterMigration.run(fromRoot: empty, to: destination.configuration, logger: Self.logger)
        }
    }

    @Test func aDestinationOnTheSourceRootIsRefused() async throws {
        let source = try await SourceRegistry.make()
        var configuration = RegistryConfiguration()
        configuration.root = source.root + "/./"
        await #expect(throws: MigrationError.sameRoot(source.root)) {
            try await ClusterMigration.run(fromRoot: source.root, to: configuration, logger: Self.logger)
        }
    }
}

/// Where a migration writes: a root of its own, or PostgreSQL + S3 (a fresh schema and key prefix).
private enum Destination {
    case root(String)
    case cluster(root: String, name: String)

    var configuration: RegistryConfiguration {
        var configuration = RegistryConfiguration()
        configuration.port = 0
        switch self {
        case .root(let root):
            configuration.root = root
        case .cluster(let root, let name):
            configuration.root = root
            ReplicaStorage.s3.apply(to: &configuration, prefix: name + "/")
            configuration.metadata.driver = .postgres
            configuration.metadata.url = ProcessInfo.processInfo.environment["REGISTRY_TEST_POSTGRES_URL"]
            configuration.metadata.schema = name
            configuration.metadata.poolSize = 4
        }
        return configuration
    }

    func blobFile(_ digest: Digest) -> String { blobPath(digest, under: configuration.root) }

    /// A server on the destination, for pulling from it.
    func withServer(_ body: (RegistryClient) async throws -> Void) async throws {
        let configuration = self.configuration
        try await TestRegistry.with(root: configuration.root, configure: { $0 = configuration }, body)
    }
}

/// A source root made by pushing through a real server, and what it holds: two repositories
/// sharing a layer; tagged, multi-tagged, untagged and Docker manifests; an index of two
/// platforms; a tagged and an untagged referrer; a blob no manifest uses; a layer larger than an
/// S3 part; an upload session left open.
private struct SourceRegistry {
    struct StoredManifest {
        var bytes: [UInt8]
        var mediaType: String
    }

    var root: String
    var tags: [String: [String: Digest]] = [:]
    var manifests: [String: [Digest: StoredManifest]] = [:]
    var blobs: [String: [Digest: [UInt8]]] = [:]
    var referrers: [String: [Digest: Set<Digest>]] = [:]
    /// Only team/other's image uses this layer; that image is tagged `solo`.
    var otherLayer = Digest.placeholder
    var otherImage = Digest.placeholder

    var distinctBlobs: [Digest: [UInt8]] { blobs.values.reduce(into: [:]) { $0.merge($1) { first, _ in first } } }
    var manifestCount: Int { manifests.values.reduce(0) { $0 + $1.count } }
    var tagCount: Int { tags.values.reduce(0) { $0 + $1.count } }
    var blobsOfBothRepositories: Int { Set(blobs["team/app"]!.keys).intersection(blobs["team/other"]!.keys).count }

    func blobFile(_ digest: Digest) -> String { blobPath(digest, under: root) }

    static func make() async throws -> SourceRegistry {
        let root = try TestRegistry.makeTemporaryDirectory()
        var source = SourceRegistry(root: root)
        try await TestRegistry.with(root: root) { client in try await source.fill(client) }
        return source
    }

    private mutating func fill(_ client: RegistryClient) async throws {
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
        let shared = RegistryClient.randomBytes(300)
        let large = RegistryClient.randomBytes(6 << 20 + 123)
        let v1 = try await image("team/app", tags: ["v1", "latest"], config: config, layers: [shared], client)
        _ = try await image("team/app", tags: ["big"], config: config, layers: [large, RegistryClient.randomBytes(1000)], client)
        _ = try await image("team/app", tags: ["docker"], config: config, layers: [RegistryClient.randomBytes(64)], mediaType: MediaType.dockerManifest, client)
        _ = try await image("team/app", tags: [], config: config, layers: [RegistryClient.randomBytes(65)], client)
        let amd64 = try await image("team/app", tags: [], config: Array(#"{"architecture":"amd64","os":"linux"}"#.utf8), layers: [], client)
        let arm64 = try await image("team/app", tags: [], config: Array(#"{"architecture":"arm64","os":"linux"}"#.utf8), layers: [], client)
        let index = try RegistryClient.json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex,
            "manifests": [(amd64, "amd64"), (arm64, "arm64")].map { digest, architecture in
                ["mediaType": MediaType.ociManifest, "digest": digest.description, "size": manifests["team/app"]![digest]!.bytes.count,
                 "platform": ["os": "linux", "architecture": architecture]] as [String: Any]
            },
        ])
        try await put(index, mediaType: MediaType.ociIndex, in: "team/app", tags: ["multi"], client)
        let subject: [String: Any] = ["mediaType": MediaType.ociManifest, "digest": v1.description, "size": manifests["team/app"]![v1]!.bytes.count]
        for (tags, type) in [(["v1-signature"], "application/vnd.example.signature"), ([], "application/spdx+json")] {
            let empty = try await blob(Array("{}".utf8), in: "team/app", client)
            let referrer = try RegistryClient.json([
                "schemaVersion": 2, "mediaType": MediaType.ociManifest, "artifactType": type,
                "config": ["mediaType": MediaType.ociEmptyJSON, "digest": empty.description, "size": 2],
                "layers": [["mediaType": MediaType.ociEmptyJSON, "digest": empty.description, "size": 2]], "subject": subject,
            ])
            let digest = try await put(referrer, mediaType: MediaType.ociManifest, in: "team/app", tags: tags, client)
            referrers["team/app", default: [:]][v1, default: []].insert(digest)
        }
        _ = try await blob(RegistryClient.randomBytes(100), in: "team/app", client)

        _ = try await image("team/other", tags: ["shared"], config: config, layers: [shared], client)
        let solo = RegistryClient.randomBytes(2000)
        otherImage = try await image("team/other", tags: ["solo"], config: config, layers: [solo], client)
        otherLayer = RegistryClient.digest(solo)

        let session = try #require(try await client.request(.POST, "/v2/team/app/blobs/uploads/").header("Location"))
        #expect(try await client.request(.PATCH, session, headers: [("Content-Range", "0-9")], body: Array(repeating: 7, count: 10)).status == .accepted)
    }

    private mutating func image(
        _ repository: String, tags: [String], config: [UInt8], layers: [[UInt8]], mediaType: String = MediaType.ociManifest,
        _ client: RegistryClient
    ) async throws -> Digest {
        let configDigest = try await blob(config, in: repository, client)
        var descriptors: [[String: Any]] = []
        for layer in layers {
            descriptors.append(["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": try await blob(layer, in: repository, client).description, "size": layer.count])
        }
        let configType = mediaType == MediaType.dockerManifest ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json"
        let manifest = try RegistryClient.json([
            "schemaVersion": 2, "mediaType": mediaType,
            "config": ["mediaType": configType, "digest": configDigest.description, "size": config.count], "layers": descriptors,
        ])
        return try await put(manifest, mediaType: mediaType, in: repository, tags: tags, client)
    }

    private mutating func blob(_ bytes: [UInt8], in repository: String, _ client: RegistryClient) async throws -> Digest {
        let digest = try await client.pushBlob(bytes, to: repository)
        blobs[repository, default: [:]][digest] = bytes
        return digest
    }

    /// Pushes by digest with every tag as a `tag` parameter.
    @discardableResult
    private mutating func put(_ bytes: [UInt8], mediaType: String, in repository: String, tags: [String], _ client: RegistryClient) async throws -> Digest {
        let digest = RegistryClient.digest(bytes)
        let query = tags.isEmpty ? "" : "?" + tags.map { "tag=\($0)" }.joined(separator: "&")
        let reply = try await client.request(.PUT, "/v2/\(repository)/manifests/\(digest)\(query)", headers: [("Content-Type", mediaType)], body: bytes)
        guard reply.status == .created else { throw TestFailure("manifest push failed: \(reply.status) \(reply.text)") }
        manifests[repository, default: [:]][digest] = StoredManifest(bytes: bytes, mediaType: mediaType)
        for tag in tags { self.tags[repository, default: [:]][tag] = digest }
        return digest
    }

    /// Pulls everything this source holds from `client` and compares it byte for byte.
    func expectServed(by client: RegistryClient) async throws {
        #expect(try await client.request(.GET, "/v2/_catalog").json()["repositories"] as? [String] == manifests.keys.sorted())
        for (repository, tags) in tags {
            #expect(try await client.request(.GET, "/v2/\(repository)/tags/list").json()["tags"] as? [String] == tags.keys.sorted())
            for (tag, digest) in tags {
                let reply = try await client.request(.HEAD, "/v2/\(repository)/manifests/\(tag)", headers: [("Accept", "*/*")])
                #expect(reply.header("Docker-Content-Digest") == digest.description, "\(repository):\(tag)")
            }
        }
        for (repository, manifests) in manifests {
            for (digest, manifest) in manifests {
                let reply = try await client.request(.GET, "/v2/\(repository)/manifests/\(digest)")
                #expect(reply.bytes == manifest.bytes, "\(repository)@\(digest)")
                #expect(reply.header("Content-Type") == manifest.mediaType, "\(repository)@\(digest)")
            }
        }
        for (repository, blobs) in blobs {
            for (digest, bytes) in blobs {
                let reply = try await client.request(.GET, "/v2/\(repository)/blobs/\(digest)")
                #expect(reply.status == .ok && reply.bytes == bytes, "\(repository) blob \(digest): \(reply.status)")
            }
        }
        for (repository, subjects) in referrers {
            for (subject, expected) in subjects {
                let index = try await client.request(.GET, "/v2/\(repository)/referrers/\(subject)").json()
                let listed = (index["manifests"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
                #expect(Set(listed) == Set(expected.map(\.description)), "referrers of \(repository)@\(subject)")
            }
        }
    }
}

/// Where a filesystem root keeps a blob's bytes.
private func blobPath(_ digest: Digest, under root: String) -> String {
    "\(root)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))/\(digest.encoded)"
}

extension Digest {
    fileprivate static let placeholder = DigestHasher.digest(of: [])
}
