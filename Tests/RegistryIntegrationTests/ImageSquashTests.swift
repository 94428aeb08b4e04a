import Foundation
import RegistryImages
import RegistryModel
import RegistryTestSupport
import Testing

/// `registry squash`, run as the built binary: the squashed image's one layer, unpacked by GNU
/// tar, holds exactly the final filesystem of the source's layers (whiteouts, opaque
/// directories, a directory replaced by a file, links).
@Suite("Image squash")
struct ImageSquashTests {
    typealias Layer = ImageInspectionTests.Layer

    static func write(_ text: String, _ path: String, in content: String) throws {
        let file = content + "/" + path
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
    }

    /// Three layers that exercise every rule of applying layers.
    static func layers() async throws -> [Layer] {
        let bottom = try await Layer(prepare: { content in
            try write("v1", "etc/os-release", in: content)
            try write("x", "etc/remove-me", in: content)
            try write("a", "opt/data/a", in: content)
            try write("b", "opt/data/b", in: content)
            try write("tool", "bin/tool", in: content)
            try write("real", "lib/real", in: content)
            try FileManager.default.createSymbolicLink(atPath: content + "/lib/link", withDestinationPath: "real")
            try write("H", "usr/hard1", in: content)
            try FileManager.default.linkItem(atPath: content + "/usr/hard1", toPath: content + "/usr/hard2")
            try write("old", "usr/kept1", in: content)
            try FileManager.default.linkItem(atPath: content + "/usr/kept1", toPath: content + "/usr/kept2")
            try FileManager.default.linkItem(atPath: content + "/usr/kept1", toPath: content + "/usr/kept3")
        })
        let middle = try await Layer(prepare: { content in
            try write("v2", "etc/os-release", in: content)
            try write("", "etc/.wh.remove-me", in: content)
            try write("", "opt/data/.wh..wh..opq", in: content)
            try write("c", "opt/data/c", in: content)
            try write("new", "newdir/file", in: content)
        })
        let top = try await Layer(prepare: { content in
            try write("", ".wh.newdir", in: content)
            try write("now a file", "bin", in: content)
            // Replaced: its hard links keep the old data, as in an overlay.
            try write("new", "usr/kept1", in: content)
        })
        return [bottom, middle, top]
    }

    /// Every path under `directory` with what it is: file contents, `-> target` for a symlink,
    /// `/` for a directory.
    static func tree(_ directory: String) throws -> [String: String] {
        var tree: [String: String] = [:]
        let manager = FileManager.default
        for path in try manager.subpathsOfDirectory(atPath: directory) {
            let full = directory + "/" + path
            let attributes = try manager.attributesOfItem(atPath: full)
            switch attributes[.type] as? FileAttributeType {
            case .typeSymbolicLink: tree[path] = "-> " + (try manager.destinationOfSymbolicLink(atPath: full))
            case .typeDirectory: tree[path] = "/"
            default: tree[path] = String(decoding: try Data(contentsOf: URL(fileURLWithPath: full)), as: UTF8.self)
            }
        }
        return tree
    }

    @Test func theSquashedLayerHoldsExactlyTheFinalFilesystem() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Program.registry), "build the registry binary first")
        let layers = try await Self.layers()
        try await TestRegistry.with { client in
            let original = try await ImageInspectionTests.push(layers, to: "team/app", tag: "v1", client: client)
            let host = client.registry.baseURL.replacingOccurrences(of: "http://", with: "")
            let squash = try await Program.run(Program.registry, "squash", "\(host)/team/app:v1", "\(host)/team/flat:v1", "--json")
            #expect(squash.status == 0, "\(squash.text)")

            // The source is untouched.
            let source = try await client.request(.GET, "/v2/team/app/manifests/v1", headers: [("Accept", MediaType.ociManifest)])
            #expect(RegistryClient.digest(Array(source.body.readableBytesView)) == original)

            let reply = try await client.request(.GET, "/v2/team/flat/manifests/v1", headers: [("Accept", MediaType.ociManifest)])
            #expect(reply.status == .ok)
            let manifest = try reply.json()
            let layerList = try #require(manifest["layers"] as? [[String: Any]])
            #expect(layerList.count == 1)
            let layerDigest = try #require(layerList.first?["digest"] as? String)
            let blob = try await client.request(.GET, "/v2/team/flat/blobs/\(layerDigest)")
            let configDigest = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
            let config = try await client.request(.GET, "/v2/team/flat/blobs/\(configDigest)").json()

            let work = try TestRegistry.makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: work) }
            try Data(blob.body.readableBytesView).write(to: URL(fileURLWithPath: work + "/layer.tar.gz"))
            let tar = try await Program.run("/usr/bin/gzip", "-d", "-c", work + "/layer.tar.gz")
            #expect(tar.status == 0)
            // The config's one diff_id is the digest of the layer's tar.
            let rootfs = try #require(config["rootfs"] as? [String: Any])
            #expect(rootfs["diff_ids"] as? [String] == [RegistryClient.digest(Array(tar.output)).description])
            // History: every original step kept, none making a layer now, then the squash's step.
            let history = try #require(config["history"] as? [[String: Any]])
            #expect(history.count == 7)
            #expect(history.dropLast().allSatisfy { $0["empty_layer"] as? Bool == true })
            #expect(history.last?["created_by"] as? String == "registry squash" && history.last?["empty_layer"] == nil)

            try FileManager.default.createDirectory(atPath: work + "/unpacked", withIntermediateDirectories: true)
            let untar = try await Program.run("/usr/bin/tar", "-x", "-z", "-f", work + "/layer.tar.gz", "-C", work + "/unpacked")
            #expect(untar.status == 0, "\(untar.text)")
            #expect(try Self.tree(work + "/unpacked") == [
                "etc": "/", "etc/os-release": "v2",
                "opt": "/", "opt/data": "/", "opt/data/c": "c",
                "bin": "now a file",
                "lib": "/", "lib/real": "real", "lib/link": "-> real",
                "usr": "/", "usr/hard1": "H", "usr/hard2": "H",
                "usr/kept1": "new", "usr/kept2": "old", "usr/kept3": "old",
            ])
            let hard1 = try FileManager.default.attributesOfItem(atPath: work + "/unpacked/usr/hard1")
            #expect(hard1[.referenceCount] as? Int == 2, "usr/hard2 is a hard link to usr/hard1")
            let kept2 = try FileManager.default.attributesOfItem(atPath: work + "/unpacked/usr/kept2")
            #expect(kept2[.referenceCount] as? Int == 2, "usr/kept2 and usr/kept3 are still one file")

            // The report says what went: three layers became one, the deleted files are gone.
            let report = try JSONSerialization.jsonObject(with: squash.json) as? [String: Any]
            let image = try #require((report?["images"] as? [[String: Any]])?.first)
            #expect(image["layersBefore"] as? Int == 3)
            #expect((image["entriesAfter"] as? Int ?? 0) < (image["entriesBefore"] as? Int ?? 0))
            // And the registry verifies the new layer's diff_id.
            let verify = try await Program.run(Program.registry, "verify", "\(host)/team/flat:v1")
            #expect(verify.status == 0, "\(verify.text)")
        }
    }

    @Test func squashWithinARootLeavesTheSourceAndWritesTheDestination() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Program.registry), "build the registry binary first")
        let layers = try await Self.layers()
        try await TestRegistry.with { client in
            let original = try await ImageInspectionTests.push(layers, to: "team/app", tag: "v1", client: client)
            let root = client.registry.root
            let squash = try await Program.run(Program.registry, "squash", "--root", root, "team/app:v1", "team/flat:v1")
            #expect(squash.status == 0, "\(squash.text)")
            #expect(squash.text.contains("3 -> 1"), "\(squash.text)")
            let inspect = try await Program.run(Program.registry, "inspect", "--root", root, "team/flat:v1", "--json")
            let report = try JSONDecoder().decode(ImageReport.self, from: inspect.json)
            #expect(report.images.first?.layers.count == 1)
            #expect(report.images.first?.history.last?.createdBy == "registry squash")
            // The server sees what the command wrote into its root, and the source is unchanged.
            try await Task.sleep(for: .seconds(1.2))
            let served = try await client.request(.GET, "/v2/team/flat/manifests/v1", headers: [("Accept", MediaType.ociManifest)])
            #expect(served.status == .ok)
            let source = try await client.request(.GET, "/v2/team/app/manifests/v1", headers: [("Accept", MediaType.ociManifest)])
            #expect(RegistryClient.digest(source.bytes) == original)
        }
    }
}
