import Foundation
import RegistryLayers
import Testing

@Suite("TarWriter")
struct TarWriterTests {
    static let mtime = TarTimestamp(seconds: 1_700_000_000)
    static let veryLongPath = "deep/" + String(repeating: "x", count: 120) + "/" + String(repeating: "y", count: 120) + "/file"
    static let splittablePath = "split/" + String(repeating: "p", count: 100) + "/" + String(repeating: "n", count: 90)
    /// A binary xattr value as Docker writes file capabilities: NUL bytes and bytes that are
    /// not UTF-8.
    static let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xFF, 0xFE, 0x00, 0x00]

    /// Entries covering what ustar holds, what needs PAX, and every type.
    static let entries: [(TarEntry, [UInt8])] = [
        (TarEntry(path: "dir/", type: .directory, mode: 0o755, modificationTime: mtime), []),
        (TarEntry(path: "dir/file.txt", size: 6, uid: 1000, gid: 1000, userName: "user", groupName: "group", modificationTime: mtime), Array("hello\n".utf8)),
        (TarEntry(path: "dir/empty", modificationTime: mtime), []),
        (TarEntry(path: "dir/exact512", size: 512, modificationTime: mtime), Fixtures.noise(count: 512)),
        (TarEntry(path: "dir/blocks.bin", size: 1500, mode: 0o4755, modificationTime: mtime), Fixtures.noise(count: 1500, seed: 9)),
        (TarEntry(path: splittablePath, size: 3, modificationTime: mtime), [1, 2, 3]),
        (TarEntry(path: veryLongPath, size: 4, modificationTime: mtime), [4, 5, 6, 7]),
        (TarEntry(path: "données/été.txt", size: 1, modificationTime: mtime), [0x41]),
        (TarEntry(path: "dir/link", type: .symbolicLink, mode: 0o777, modificationTime: mtime, linkName: "file.txt"), []),
        (TarEntry(path: "dir/longlink", type: .symbolicLink, mode: 0o777, modificationTime: mtime, linkName: "/" + String(repeating: "t", count: 150)), []),
        (TarEntry(path: "dir/hard", type: .hardLink, modificationTime: mtime, linkName: "dir/file.txt"), []),
        (TarEntry(path: "dir/null", type: .characterDevice, mode: 0o666, modificationTime: mtime, deviceMajor: 1, deviceMinor: 3), []),
        (TarEntry(path: "dir/fifo", type: .fifo, modificationTime: mtime), []),
        (TarEntry(path: "dir/.wh.gone", modificationTime: mtime), []),
        (TarEntry(path: "dir/.wh..wh..opq", modificationTime: mtime), []),
        (TarEntry(path: "dir/bigids", uid: 3_000_000, gid: 4_000_000, userName: String(repeating: "u", count: 40), modificationTime: mtime), []),
        (TarEntry(path: "dir/precise", modificationTime: TarTimestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)), []),
        (TarEntry(path: "dir/old", modificationTime: TarTimestamp(seconds: -86_400)), []),
        (TarEntry(path: "dir/ping", size: 2, mode: 0o755, modificationTime: mtime,
                  paxRecords: ["SCHILY.xattr.security.capability": capability, "SCHILY.xattr.user.note": Array("a=b\nc".utf8)]), [0xCA, 0xFE]),
    ]

    /// The entry without the PAX records the writer derived from its fields.
    func withoutDerivedRecords(_ entry: TarEntry) -> TarEntry {
        var entry = entry
        for key in ["path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime"] { entry.paxRecords[key] = nil }
        return entry
    }

    @Test func roundTripsThroughTarReader() throws {
        let archive = try writeTar(Self.entries)
        #expect(archive.count % 512 == 0)
        let read = try readTar(archive, chunkSize: 100)
        #expect(read.count == Self.entries.count)
        for (written, read) in zip(Self.entries, read) {
            #expect(withoutDerivedRecords(read.entry) == written.0)
            #expect(read.data == written.1, "\(written.0.path)")
        }
        #expect(try readTar(archive, chunkSize: 1) == read)
    }

    @Test func ustarHoldsWhatFitsWithoutPAX() throws {
        let archive = try writeTar(Array(Self.entries.prefix(4)) + [Self.entries[5]])
        #expect(!archive.windowsContain(Array("PaxHeaders".utf8)))
        let read = try readTar(archive)
        #expect(read.allSatisfy { $0.entry.paxRecords.isEmpty })
        // The long path went into ustar's prefix field.
        #expect(read.last?.entry.path == Self.splittablePath)
    }

    @Test func outputIsDeterministic() throws {
        #expect(try writeTar(Self.entries) == writeTar(Self.entries))
    }

    @Test func rewritingWhatWasReadGivesTheSameArchive() throws {
        let archive = try writeTar(Self.entries)
        let rewritten = try writeTar(readTar(archive).map { ($0.entry, $0.data) })
        #expect(rewritten == archive)
    }

    @Test func headerOnlyTypesAreWrittenWithSizeZero() throws {
        var writer = TarWriter()
        var archive: [UInt8] = []
        try writer.beginEntry(TarEntry(path: "d/", type: .directory, size: 100)) { archive += $0 }
        try writer.endEntry { archive += $0 }
        try writer.finish { archive += $0 }
        #expect(archive.count == 3 * 512)
        #expect(try readTar(archive).first?.entry.size == 0)
    }

    @Test func misuseIsReportedWithTypedErrors() throws {
        var writer = TarWriter()
        let sink: ByteSink = { _ in }
        #expect(throws: TarWriterError.noEntry) { try writer.writeData([1], into: sink) }
        #expect(throws: TarWriterError.noEntry) { try writer.endEntry(into: sink) }
        try writer.beginEntry(TarEntry(path: "f", size: 2), into: sink)
        #expect(throws: TarWriterError.entryNotEnded) { try writer.beginEntry(TarEntry(path: "g"), into: sink) }
        #expect(throws: TarWriterError.dataExceedsSize(size: 2)) { try writer.writeData([1, 2, 3], into: sink) }
        try writer.writeData([1], into: sink)
        #expect(throws: TarWriterError.dataShorterThanSize(size: 2, written: 1)) { try writer.endEntry(into: sink) }
        #expect(throws: TarWriterError.entryNotEnded) { try writer.finish(into: sink) }
        try writer.writeData([2], into: sink)
        try writer.endEntry(into: sink)
        try writer.finish(into: sink)
        #expect(throws: TarWriterError.finished) { try writer.beginEntry(TarEntry(path: "h"), into: sink) }
        #expect(throws: TarWriterError.finished) { try writer.finish(into: sink) }
    }

    @Test(arguments: [
        TarEntry(path: ""),
        TarEntry(path: "a\u{0}b"),
        TarEntry(path: "f", size: -1),
        TarEntry(path: "f", uid: -1),
        TarEntry(path: "f", mode: 0o10000000),
        TarEntry(path: "f", type: .other(UInt8(ascii: "x"))),
        TarEntry(path: "f", linkName: "\u{0}"),
        TarEntry(path: "f", paxRecords: ["a=b": [1]]),
    ])
    func unwritableEntriesAreRefused(_ entry: TarEntry) {
        var writer = TarWriter()
        #expect(throws: TarWriterError.self) { try writer.beginEntry(entry) { _ in } }
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("tar")))
    func gnuTarListsAndExtractsOurArchive() throws {
        let directory = try TemporaryDirectory()
        let archive = try writeTar(Self.entries.filter { $0.0.type != .characterDevice })
        try directory.write(archive, to: "out.tar")
        // Literal quoting: non-ASCII names print as their bytes whatever the locale.
        let listing = String(decoding: try CommandLineTool.run("tar", ["--quoting-style=literal", "-tvf", "out.tar"], in: directory.url), as: UTF8.self)
        #expect(!listing.contains("PaxHeaders"))
        for (entry, _) in Self.entries where entry.type != .characterDevice {
            #expect(listing.contains(entry.path), "\(entry.path) not in listing:\n\(listing)")
        }
        #expect(listing.contains("dir/link -> file.txt"))
        #expect(listing.contains("dir/hard link to dir/file.txt"))
        #expect(listing.contains("3000000/4000000") || listing.contains(String(repeating: "u", count: 40)))

        try FileManager.default.createDirectory(at: directory.url.appendingPathComponent("x"), withIntermediateDirectories: true)
        try CommandLineTool.run("tar", ["-xf", "../out.tar", "--no-same-owner", "--no-same-permissions"], in: directory.url.appendingPathComponent("x"))
        for (entry, data) in Self.entries where entry.type == .regularFile {
            #expect(try directory.read("x/" + entry.path) == data, "\(entry.path)")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.url.appendingPathComponent("x/dir/precise").path)
        let extracted = try #require((attributes[.modificationDate] as? Date)?.timeIntervalSince1970)
        #expect(abs(extracted - 1_700_000_000.123456789) < 0.000_01)
    }
}

extension Array where Element == UInt8 {
    func windowsContain(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
