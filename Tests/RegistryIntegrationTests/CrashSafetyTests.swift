import Foundation
import Logging
import RegistryModel
import RegistryServer
import RegistryStorage
import RegistryTestSupport
import SystemPackage
import Testing

/// What a crash, or a collection run by another process, must not cost: the states an
/// interrupted commit or collection leaves behind, made on purpose, then served.
@Suite("Crash safety")
struct CrashSafetyTests {
    private static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Starts a session on a fresh root, writes `data` to it with one PATCH, and stops the server.
    private func interruptedSession(_ data: [UInt8], in repository: String) async throws -> (root: String, id: UploadID) {
        try await TestRegistry.with { client in
            let start = try await client.request(.POST, "/v2/\(repository)/blobs/uploads/")
            let location = try #require(start.header("Location"))
            let patch = try await client.request(.PATCH, location, body: data)
            #expect(patch.status == .accepted)
            let id = try #require(UploadID(String(location.split(separator: "/").last ?? "")))
            return (client.registry.root, id)
        }
    }

    @Test func aSessionWhoseFinishStoppedBeforeItsRecordsCompletesAfterARestart() async throws {
        let data = RegistryClient.randomBytes(100_000)
        let digest = RegistryClient.digest(data)
        let (root, id) = try await interruptedSession(data, in: "team/app")
        // What a kill between the blob file's placement and the records' commit leaves.
        try await FilesystemBlobStore(layout: StorageLayout(root: FilePath(root))).place(id, as: digest)

        try await TestRegistry.with(root: root) { client in
            let status = try await client.request(.GET, "/v2/team/app/blobs/uploads/\(id)")
            #expect(status.status == .noContent)
            #expect(status.header("Range") == "0-\(data.count - 1)")
            let put = try await client.request(.PUT, "/v2/team/app/blobs/uploads/\(id)?digest=\(digest)")
            #expect(put.status == .created, "\(put.text)")
            let blob = try await client.request(.GET, "/v2/team/app/blobs/\(digest)")
            #expect(blob.status == .ok)
            #expect(RegistryClient.digest(blob.bytes) == digest)
        }
    }

    @Test func blobFilesNoRecordOwnsAreRemovedByCollectionOnly() async throws {
        let data = RegistryClient.randomBytes(5000)
        let digest = RegistryClient.digest(data)
        let (root, id) = try await interruptedSession(data, in: "team/app")
        try await FilesystemBlobStore(layout: StorageLayout(root: FilePath(root))).place(id, as: digest)
        try await TestRegistry.with(root: root, configure: { $0.gcGracePeriod = .zero; $0.gcInterval = nil }) { client in
            // The session is cancelled: the blob file it left has no owner now.
            #expect(try await client.request(.DELETE, "/v2/team/app/blobs/uploads/\(id)").status == .noContent)
            try await client.pushImage(to: "team/app", tag: "v1")
            #expect(client.blobIsOnDisk(digest))
            _ = try await client.request(.POST, "/v2/_admin/gc?dry_run=true")
            #expect(client.blobIsOnDisk(digest), "a dry run removes nothing")
            let report = try await client.request(.POST, "/v2/_admin/gc")
            #expect(report.status == .ok)
            #expect(try report.json()["orphan_files_removed"] as? [String] == [digest.description])
            #expect(!client.blobIsOnDisk(digest))
            try await client.pullImage("team/app", tag: "v1")
        }
    }

    @Test func aMountOfABlobWhoseFileIsGoneStartsAnUploadInstead() async throws {
        try await TestRegistry.with { client in
            let digest = try await client.pushBlob(RegistryClient.randomBytes(2000), to: "team/source")
            try FileManager.default.removeItem(atPath: client.blobFile(digest))
            let mounted = try await client.request(.POST, "/v2/team/other/blobs/uploads/?mount=\(digest)")
            #expect(mounted.status == .accepted, "no file, no mount: an upload session instead")
            let fromSource = try await client.request(.POST, "/v2/team/other/blobs/uploads/?mount=\(digest)&from=team/source")
            #expect(fromSource.status == .accepted)
        }
    }

    @Test func aManifestReferencingABlobWhoseFileIsGoneIsRefused() async throws {
        try await TestRegistry.with { client in
            let config = try await client.pushBlob(Array(#"{"architecture":"amd64","os":"linux"}"#.utf8), to: "team/app")
            try FileManager.default.removeItem(atPath: client.blobFile(config))
            let manifest = try RegistryClient.emptyImageManifest(config: config, size: 36)
            let put = try await client.request(
                .PUT, "/v2/team/app/manifests/v1", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(put.status == .badRequest)
            #expect(put.errorCode == "MANIFEST_BLOB_UNKNOWN")
            #expect(put.text.contains("missing"))
        }
    }

    @Test func aBlobHEADedJustBeforeACollectionInAnotherProcessSurvivesIt() async throws {
        let graceSeconds = 3600.0
        let grace: Duration = .seconds(graceSeconds)
        try await TestRegistry.with(configure: { $0.gcGracePeriod = grace; $0.gcInterval = nil }) { client in
            let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
            let layer = RegistryClient.randomBytes(4096)
            let configDigest = try await client.pushBlob(config, to: "team/app")
            let layerDigest = try await client.pushBlob(layer, to: "team/app")
            // Past the recorder's 1 s coalescing window: the HEADs must write a use of their own.
            try await Task.sleep(for: .milliseconds(2500))
            let headed = Date()
            for digest in [configDigest, layerDigest] {
                #expect(try await client.request(.HEAD, "/v2/team/app/blobs/\(digest)").status == .ok)
            }
            // `registry gc` on the same root, from outside the server, as if the whole grace period
            // had passed since just before the HEADs. The uploads are older than that by 2.5 s:
            // only the HEADs keep the blobs. (Moving the collection's clock, not sleeping, keeps a
            // stall of the busy machine between the HEADs and the collection from mattering.)
            var configuration = RegistryConfiguration()
            configuration.root = client.registry.root
            configuration.gcGracePeriod = grace
            let maintenance = try await RootMaintenance.open(configuration, logger: Self.quiet)
            _ = try await maintenance.collectGarbage(
                deleteUntagged: false, dryRun: false, json: true, now: headed.addingTimeInterval(graceSeconds))
            try await maintenance.close()

            let manifest = try RegistryClient.json([
                "schemaVersion": 2, "mediaType": MediaType.ociManifest,
                "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest.description, "size": config.count],
                "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layerDigest.description, "size": layer.count]],
            ])
            let put = try await client.request(
                .PUT, "/v2/team/app/manifests/v1", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
            #expect(put.status == .created, "\(put.text)")
            try await client.pullImage("team/app", tag: "v1")
        }
    }
}
