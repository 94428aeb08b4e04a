import Foundation
import RegistryLayers
import Testing

/// Archives written by GNU tar in its three formats, read back.
@Suite(.enabled(if: CommandLineTool.isAvailable("tar")))
struct TarReaderGNUTests {
    static let mtime: Int64 = 1_700_000_000
    static let component60a = String(repeating: "a", count: 60)
    static let component60b = String(repeating: "b", count: 60)
    /// 140 bytes: beyond the name field, but splittable over ustar's prefix and name.
    static let longPath = "long/\(component60a)/\(component60b)/file.txt"
    /// Over 300 bytes: only GNU long names and PAX hold it.
    static let veryLongPath = "deep/" + (1...5).map { String(repeating: Character(String($0)), count: 60) }.joined(separator: "/") + "/file.txt"
    static let longLinkTarget = "target/" + String(repeating: "t", count: 150)

    /// A tree with every kind of entry the formats have to cope with; `ustar` leaves out what it
    /// cannot store.
    static func makeArchive(format: String, extraArguments: [String] = []) throws -> (archive: [UInt8], files: [String: [UInt8]]) {
        let directory = try TemporaryDirectory()
        var files: [String: [UInt8]] = [
            "empty": [],
            "exact512": Fixtures.noise(count: 512),
            "small.txt": Array("hello\n".utf8),
            "blocks.bin": Fixtures.noise(count: 1500, seed: 3),
            ".wh.foo": [],
            "sub/.wh..wh..opq": [],
            longPath: Array("long\n".utf8),
        ]
        if format != "ustar" { files[veryLongPath] = Array("very long\n".utf8) }
        for (path, bytes) in files { try directory.write(bytes, to: "tree/" + path) }
        let tree = directory.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("emptydir"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("link").path, withDestinationPath: "small.txt")
        if format != "ustar" {
            try FileManager.default.createSymbolicLink(atPath: tree.appendingPathComponent("longlink").path, withDestinationPath: longLinkTarget)
        }
        try FileManager.default.linkItem(at: tree.appendingPathComponent("small.txt"), to: tree.appendingPathComponent("zhard"))
        try CommandLineTool.run("tar", [
            "--format=\(format)", "--sort=name", "--mtime=@\(mtime)",
            "--owner=builder:1234", "--group=staff:2345", "--mode=u=rwX,go=rX",
            "-cf", "../out.tar", ".",
        ] + extraArguments, in: tree)
        return (try directory.read("out.tar"), files)
    }

    func byPath(_ entries: [ReadEntry]) -> [String: ReadEntry] {
        Dictionary(entries.map { ($0.entry.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test(arguments: ["gnu", "pax", "ustar"])
    func readsEveryKindOfEntry(format: String) throws {
        let (archive, files) = try Self.makeArchive(format: format)
        let entries = try readTar(archive)
        let index = byPath(entries)
        #expect(entries.count == index.count, "no path twice")

        for (path, bytes) in files {
            guard let read = index["./" + path] else {
                Issue.record("\(format): ./\(path) missing; have \(index.keys.sorted())")
                continue
            }
            #expect(read.entry.type == .regularFile, "\(path)")
            #expect(read.entry.size == Int64(bytes.count), "\(path)")
            #expect(read.data == bytes, "\(path)")
            #expect(read.entry.mode == 0o644, "\(path)")
        }
        for directory in ["./", "./sub/", "./emptydir/", "./long/"] {
            #expect(index[directory]?.entry.type == .directory, "\(format): \(directory)")
        }
        #expect(index["./link"]?.entry.type == .symbolicLink)
        #expect(index["./link"]?.entry.linkName == "small.txt")
        #expect(index["./link"]?.data == [])
        // The second name of the file is the link: `./small.txt` sorts before `./zhard`.
        #expect(index["./zhard"]?.entry.type == .hardLink)
        #expect(index["./zhard"]?.entry.linkName == "./small.txt")
        #expect(index["./zhard"]?.data == [])
        if format != "ustar" {
            #expect(index["./longlink"]?.entry.linkName == Self.longLinkTarget)
        }

        for read in entries {
            #expect(read.entry.modificationTime == TarTimestamp(seconds: Self.mtime), "\(read.entry.path)")
            #expect(read.entry.uid == 1234)
            #expect(read.entry.gid == 2345)
            #expect(read.entry.userName == "builder")
            #expect(read.entry.groupName == "staff")
        }
        if format == "pax" {
            // GNU tar records access and change times in PAX records, and the very long path.
            #expect(index["./empty"]?.entry.paxRecords["atime"] != nil)
            #expect(index["./" + Self.veryLongPath]?.entry.paxRecord("path") == "./" + Self.veryLongPath)
        }
        if format == "gnu" {
            #expect(entries.allSatisfy { $0.entry.paxRecords.isEmpty })
        }
    }

    @Test(arguments: ["gnu", "pax", "ustar"])
    func chunkBoundariesDoNotMatter(format: String) throws {
        let (archive, _) = try Self.makeArchive(format: format)
        let whole = try readTar(archive, chunkSize: archive.count)
        for chunkSize in [1, 7, 511, 512, 513, 10_240] {
            #expect(try readTar(archive, chunkSize: chunkSize) == whole, "chunks of \(chunkSize)")
        }
    }

    @Test func readsGNUBase256Ids() throws {
        // 3000000 does not fit 7 octal digits: GNU format writes it in base-256.
        let (archive, _) = try Self.makeArchive(format: "gnu", extraArguments: ["--owner=big:3000000", "--group=big:3000001"])
        let entries = try readTar(archive)
        #expect(!entries.isEmpty)
        #expect(entries.allSatisfy { $0.entry.uid == 3_000_000 && $0.entry.gid == 3_000_001 })
    }

    @Test func readsPAXIdsBeyondOctal() throws {
        let (archive, _) = try Self.makeArchive(format: "pax", extraArguments: ["--owner=big:3000000", "--group=big:3000001"])
        let entries = try readTar(archive)
        #expect(entries.allSatisfy { $0.entry.uid == 3_000_000 && $0.entry.gid == 3_000_001 })
        #expect(entries.allSatisfy { $0.entry.paxRecord("uid") == "3000000" })
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("gzip")))
    func readsAGzippedArchive() throws {
        let (archive, _) = try Self.makeArchive(format: "pax")
        let compressed = try CommandLineTool.run("gzip", ["-c"], input: archive)
        let decompressor = try LayerDecompressor(compression: .gzip)
        var reader = TarReader()
        var paths: [String] = []
        for chunk in chunks(of: compressed, size: 1000) {
            try decompressor.decompress(chunk) { piece in
                try reader.feed(piece) { event in
                    if case .entry(let entry) = event { paths.append(entry.path) }
                }
            }
        }
        try decompressor.finish()
        try reader.finish()
        #expect(reader.sawEndMarker)
        #expect(paths == (try readTar(archive)).map(\.entry.path))
    }
}
