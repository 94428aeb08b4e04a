import Foundation
import RegistryImages
import RegistryModel
import RegistryServer
import RegistryStorage
import RegistryTestSupport
import RegistryUpstream
import Testing

/// `registry inspect`, `history` and `verify`, run as the built binary against a running
/// registry and against its root, on images made of real gzip-compressed tar layers.
@Suite("Image inspection")
struct ImageInspectionTests {
    /// A layer as a build makes it: a tar of `files`, gzip-compressed by the `gzip` tool.
    struct Layer {
        var tar: [UInt8]
        var gzip: [UInt8]
        var diffID: Digest { DigestHasher.digest(of: tar) }
        var digest: Digest { DigestHasher.digest(of: gzip) }

        init(_ files: [String: String]) async throws {
            try await self.init(prepare: { content in
                for (path, text) in files {
                    let file = content + "/" + path
                    try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try Data(text.utf8).write(to: URL(fileURLWithPath: file))
                }
            })
        }

        /// A layer of what `prepare` puts in the directory it is given.
        init(prepare: (String) throws -> Void) async throws {
            let directory = try TestRegistry.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let content = directory + "/content"
            try FileManager.default.createDirectory(atPath: content, withIntermediateDirectories: true)
            try prepare(content)
            _ = try await Program.run("/usr/bin/tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", content, "-cf", directory + "/layer.tar", ".")
            tar = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/layer.tar")))
            gzip = Array(try await Program.run("/usr/bin/gzip", "-n", "-c", directory + "/layer.tar").output)
        }
    }

    static let binary = Program.registry

    /// Pushes an image of `layers` whose config has `diffIDs` (the layers' own by default), a
    /// history with an empty step between the layers, and `labels`.
    @discardableResult
    static func push(
        _ layers: [Layer], to repository: String, tag: String, client: RegistryClient, diffIDs: [Digest]? = nil,
        labels: [String: String] = [:]
    ) async throws -> Digest {
        var history: [[String: Any]] = []
        for (index, _) in layers.enumerated() {
            history.append(["created": "2025-01-0\(index + 1)T00:00:00Z", "created_by": "RUN step \(index) of \(repository)"])
            history.append(["created": "2025-01-0\(index + 1)T00:00:01Z", "created_by": "ENV STEP=\(index)", "empty_layer": true])
        }
        let config = try RegistryClient.json([
            "architecture": "amd64", "os": "linux", "created": "2025-01-09T00:00:00Z",
            "config": ["Cmd": ["/bin/app", "--serve"], "Labels": labels] as [String: Any],
            "rootfs": ["type": "layers", "diff_ids": (diffIDs ?? layers.map(\.diffID)).map(\.description)] as [String: Any],
            "history": history,
        ])
        let configDigest = try await client.pushBlob(config, to: repository)
        for layer in layers { try await client.pushBlob(layer.gzip, to: repository) }
        let manifest = try RegistryClient.json([
            "schemaVersion": 2, "mediaType": MediaType.ociManifest,
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest.description, "size": config.count],
            "layers": layers.map {
                ["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": $0.digest.description, "size": $0.gzip.count] as [String: Any]
            },
        ])
        let reply = try await client.request(.PUT, "/v2/\(repository)/manifests/\(tag)", headers: [("Content-Type", MediaType.ociManifest)], body: manifest)
        guard reply.status == .created else { throw TestFailure("manifest push failed: \(reply.status) \(reply.text)") }
        return RegistryClient.digest(manifest)
    }

    static func report(_ result: Program.Result) async throws -> ImageReport {
        do {
            return try JSONDecoder().decode(ImageReport.self, from: result.json)
        } catch {
            throw TestFailure("not a report (\(error)): \(result.text)")
        }
    }

    @Test func inspectShowsBothHashesOfEachLayerAndWhoSharesIt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the registry binary first")
        let base = try await Layer(["etc/os-release": "ID=test\n", "bin/sh": String(repeating: "x", count: 5000)])
        let app = try await Layer(["app/main": "print('hello')\n"])
        try await TestRegistry.with { client in
            let manifest = try await Self.push([base, app], to: "team/app", tag: "v1", client: client, labels: ["org.example.team": "a"])
            try await Self.push([base], to: "team/base", tag: "v1", client: client)
            let host = client.registry.baseURL.replacingOccurrences(of: "http://", with: "")

            for arguments in [["\(host)/team/app:v1"], ["--root", client.registry.root, "team/app:v1"]] {
                let report = try await Self.report(try await Program.run(Self.binary, arguments: ["inspect", "--json"] + arguments))
                let image = try #require(report.images.first)
                #expect(report.digest == manifest && report.platforms == nil)
                #expect(image.platform == "linux/amd64" && image.cmd == ["/bin/app", "--serve"])
                #expect(image.labels == [ImageLabel(key: "org.example.team", value: "a")])
                #expect(image.layers.map(\.digest) == [base.digest, app.digest])
                #expect(image.layers.map(\.diffID) == [base.diffID, app.diffID])
                #expect(image.layers.map(\.size) == [Int64(base.gzip.count), Int64(app.gzip.count)])
                #expect(image.layers[0].sharedWith?.map(\.repository.value) == ["team/base"])
                #expect(image.layers[0].sharedWith?.first?.tags.map(\.value) == ["v1"])
                #expect(image.layers[1].sharedWith == [])
                // What the image adds: its own layer and its config, not the shared base.
                #expect(image.uniqueSize == Int64(app.gzip.count) + image.compressedSize - Int64(base.gzip.count + app.gzip.count))
                // Two steps made layers, two did not.
                #expect(image.history.map(\.layer) == [0, nil, 1, nil])
                #expect(image.history.map(\.emptyLayer) == [false, true, false, true])
            }

            let text = try await Program.run(Self.binary, "inspect", "\(host)/team/app:v1", "--no-trunc").text
            #expect(text.contains(base.digest.description) && text.contains(base.diffID.description) && text.contains("team/base:v1"))
            let history = try await Program.run(Self.binary, "history", "\(host)/team/app:v1").text.split(separator: "\n").map(String.init)
            // Newest first, as docker history: the last empty step on top.
            #expect(history.count == 5 && history[0].hasPrefix("CREATED"))
            #expect(history[1].contains("ENV STEP=1") && history[1].contains("<empty>") && history[1].contains("0 B"))
            #expect(history[2].contains("RUN step 1") && history[2].contains(String(app.digest.description.prefix(19))))
            #expect(history[4].contains("RUN step 0") && history[4].contains(String(base.digest.description.prefix(19))))
        }
    }

    @Test func verifyFindsWrongDiffIDsAndCorruptBlobsAndRemembersGoodLayers() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the registry binary first")
        let good = try await Layer(["a.txt": String(repeating: "a", count: 20000)])
        let other = try await Layer(["b.txt": "b\n"])
        let victim = try await Layer(["c.txt": String(repeating: "c", count: 3000)])
        try await TestRegistry.with { client in
            try await Self.push([good], to: "v/good", tag: "v1", client: client)
            // A config whose diff_id is not the layer's: the tar of another layer.
            try await Self.push([other], to: "v/lying", tag: "v1", client: client, diffIDs: [good.diffID])
            try await Self.push([victim], to: "v/damaged", tag: "v1", client: client)
            let host = client.registry.baseURL.replacingOccurrences(of: "http://", with: "")

            let ok = try await Program.run(Self.binary, "verify", "\(host)/v/good:v1", "--json")
            let report = try JSONDecoder().decode(VerificationReport.self, from: ok.json)
            #expect(ok.status == 0 && report.images.first?.layers.first?.outcome == .ok)
            #expect(report.images.first?.layers.first?.uncompressedSize == Int64(good.tar.count))

            let lying = try await Program.run(Self.binary, "verify", "\(host)/v/lying:v1")
            #expect(lying.status == 1 && lying.text.contains("diff_id mismatch"), "\(lying.text)")
            #expect(lying.text.contains(String(other.diffID.description.prefix(19))), "the tar's own hash is reported")

            // The stored bytes of a layer damaged on disk.
            let file = StorageLayout(root: .init(client.registry.root)).blobPath(for: victim.digest).string
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            bytes[bytes.count / 2] ^= 0xFF
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            let damaged = try await Program.run(Self.binary, "verify", "\(host)/v/damaged:v1")
            #expect(damaged.status == 1 && damaged.text.contains("digest mismatch"), "\(damaged.text)")

            // With --root, good layers are remembered: inspect then shows the uncompressed size.
            let root = client.registry.root
            let before = try await Self.report(try await Program.run(Self.binary, "inspect", "--json", "\(host)/v/good:v1"))
            #expect(before.images.first?.layers.first?.uncompressedSize == nil)
            let scrub = try await Program.run(Self.binary, "scrub", "--diff-ids", "--root", root)
            #expect(scrub.status == 1 && scrub.text.contains("v/lying:v1") && scrub.text.contains("v/damaged:v1"), "\(scrub.text)")
            #expect(!scrub.text.contains("v/good:v1"))
            let after = try await Self.report(try await Program.run(Self.binary, "inspect", "--json", "\(host)/v/good:v1"))
            #expect(after.images.first?.layers.first?.uncompressedSize == Int64(good.tar.count))
            #expect(after.images.first?.layers.first?.verified == true)
        }
    }

    /// With `scrub.diff_ids`, the registry's own background scrub verifies layers and records
    /// what it established: the UI then shows the uncompressed size without anyone running a
    /// command (a client's `registry verify` is never taken on trust).
    @Test func theBackgroundScrubVerifiesDiffIDsWhenConfiguredTo() async throws {
        let layer = try await Layer(["a.txt": String(repeating: "a", count: 5000)])
        try await TestRegistry.with(configure: {
            $0.scrubInterval = .milliseconds(200)
            $0.scrubDiffIDs = true
        }) { client in
            try await Self.push([layer], to: "bg/app", tag: "v1", client: client)
            var page = ""
            for _ in 0..<100 where !page.contains("(verified ") {
                try await Task.sleep(for: .milliseconds(100))
                page = try await client.request(.GET, "/ui/layer?repository=bg/app&digest=\(layer.digest)").text
            }
            #expect(page.contains("(verified "), "\(page)")
            #expect(page.contains(ByteCount.format(Int64(layer.tar.count)) + " (verified "))
        }
    }
}
