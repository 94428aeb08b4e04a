import RegistryLayers
import Testing

/// Hand-made archives: the format's corners, and input meant to break the reader.
@Suite("TarReader")
struct TarReaderTests {
    /// A one-entry archive: a 512-byte header, 700 bytes of data padded to 1024, the marker.
    static let oneEntry: [UInt8] = RawTarHeader(name: "file", size: 700).sealed + padded(Fixtures.noise(count: 700)) + endOfArchive

    // MARK: The end of the archive

    @Test func anEmptyStreamIsAnEmptyArchive() throws {
        #expect(try readTar([]) == [])
        #expect(try readTar(endOfArchive) == [])
    }

    @Test func bytesAfterTheEndMarkerAreIgnored() throws {
        let padded = Self.oneEntry + [UInt8](repeating: 0, count: 10_240)
        #expect(try readTar(padded).count == 1)
        #expect(try readTar(Self.oneEntry + Array("not a header".utf8)).count == 1)
        var reader = TarReader()
        try reader.feed(Self.oneEntry) { _ in }
        try reader.finish()
        #expect(reader.sawEndMarker)
    }

    @Test func aStreamMayEndAfterAnEntryOrASingleZeroBlock() throws {
        let withoutMarker = Array(Self.oneEntry.prefix(1536))
        var reader = TarReader()
        try reader.feed(withoutMarker) { _ in }
        try reader.finish()
        #expect(!reader.sawEndMarker)
        #expect(try readTar(Array(Self.oneEntry.prefix(2048))).count == 1)
    }

    @Test func aZeroBlockFollowedByAHeaderIsRefused() {
        let archive = Array(Self.oneEntry.prefix(2048)) + RawTarHeader(name: "after").sealed + endOfArchive
        #expect(tarError(archive) == .loneZeroBlock(offset: 1536))
    }

    @Test func truncationIsDetectedAtEveryOffset() {
        for length in 0..<Self.oneEntry.count {
            let cut = Array(Self.oneEntry.prefix(length))
            let expected: TarError? = [0, 1536, 2048].contains(length) ? nil : .truncated(offset: UInt64(length))
            #expect(tarError(cut, chunkSize: 300) == expected, "cut at \(length)")
        }
    }

    // MARK: Header fields

    @Test func checksumsAreVerified() {
        var archive = Self.oneEntry
        archive[3] ^= 0x20
        #expect(tarError(archive) == .invalidChecksum(offset: 0))
        let second = RawTarHeader(name: "a").sealed + RawTarHeader(name: "b").sealed
        var corrupt = second
        corrupt[512 + 100] = UInt8(ascii: "7")
        #expect(tarError(corrupt + endOfArchive) == .invalidChecksum(offset: 512))
        #expect(tarError(Array(Fixtures.bytes(count: 2048))) == .invalidChecksum(offset: 0))
    }

    @Test func signedChecksumsAreAccepted() throws {
        // Historic tars summed the header's bytes as signed chars.
        var header = RawTarHeader(name: "caf\u{E9}")
        header.set(265..<297, [0xE9, 0xE9])
        var block = header.sealed
        let signed = block.enumerated().reduce(0) { sum, item in
            sum + ((148..<156).contains(item.offset) ? 32 : Int(Int8(bitPattern: item.element)))
        }
        let digits = String(signed, radix: 8)
        block.replaceSubrange(148..<156, with: Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 32])
        #expect(try readTar(block + endOfArchive).first?.entry.path == "caf\u{E9}")
    }

    @Test func sizesThatOverflowOrAreNegativeAreRefused() {
        var overflowing = RawTarHeader(name: "big")
        overflowing.set(124..<136, [0x80] + [UInt8](repeating: 0xFF, count: 11))
        var negative = RawTarHeader(name: "negative")
        negative.setBase256(124..<136, -1)
        var notOctal = RawTarHeader(name: "nine")
        notOctal.set(124..<136, Array("00000000009\0".utf8))
        var tooBigForMode = RawTarHeader(name: "mode")
        tooBigForMode.setBase256(100..<108, Int64(UInt32.max) + 1)
        #expect(tarError(overflowing.sealed + endOfArchive) == .invalidNumericField(field: "size", offset: 0))
        #expect(tarError(negative.sealed + endOfArchive) == .invalidNumericField(field: "size", offset: 0))
        #expect(tarError(notOctal.sealed + endOfArchive) == .invalidNumericField(field: "size", offset: 0))
        #expect(tarError(tooBigForMode.sealed + endOfArchive) == .invalidNumericField(field: "mode", offset: 0))
    }

    @Test func hugeValidSizesStreamWithoutBuffering() {
        var octal = RawTarHeader(name: "octal", size: 0o77777777777)
        octal.setOctal(124..<136, 0o77777777777)
        var base256 = RawTarHeader(name: "base256")
        base256.setBase256(124..<136, Int64.max)
        for header in [octal, base256] {
            // Only 1000 bytes of the announced data follow: truncated, and nothing allocated
            // for the rest.
            #expect(tarError(header.sealed + Fixtures.noise(count: 1000)) == .truncated(offset: 1512))
        }
    }

    @Test func readsBase256Numbers() throws {
        var header = RawTarHeader(name: "gnu")
        header.setBase256(124..<136, 5)
        header.setBase256(136..<148, -1000)
        header.setBase256(108..<116, 1 << 40)
        let read = try readTar(header.sealed + padded([1, 2, 3, 4, 5]) + endOfArchive)
        #expect(read.first?.entry.size == 5)
        #expect(read.first?.entry.modificationTime == TarTimestamp(seconds: -1000))
        #expect(read.first?.entry.uid == 1 << 40)
        #expect(read.first?.data == [1, 2, 3, 4, 5])
    }

    @Test func v7DirectoriesAreRecognisedByTheirSlash() throws {
        var header = RawTarHeader(name: "olddir/", type: "\0")
        header.set(257..<265, [])
        header.set(265..<297, Array("ignored".utf8))
        var file = RawTarHeader(name: "oldfile", type: "\0", size: 2)
        file.set(257..<265, [])
        let read = try readTar(header.sealed + file.sealed + padded([7, 8]) + endOfArchive)
        #expect(read.map(\.entry.type) == [.directory, .regularFile])
        #expect(read.first?.entry.userName == "", "V7 headers end at the link name")
        #expect(read.last?.data == [7, 8])
    }

    @Test func ustarPrefixIsJoinedToTheName() throws {
        var header = RawTarHeader(name: "name.txt")
        header.set(345..<500, Array("some/prefix".utf8))
        #expect(try readTar(header.sealed + endOfArchive).first?.entry.path == "some/prefix/name.txt")
        // GNU headers keep other data there: no prefix.
        var gnu = RawTarHeader(name: "name.txt")
        gnu.set(257..<265, Array("ustar  \0".utf8))
        gnu.set(345..<357, Array("01234567012\0".utf8))
        #expect(try readTar(gnu.sealed + endOfArchive).first?.entry.path == "name.txt")
    }

    @Test func linksAndDirectoriesCarryNoDataWhateverTheirSize() throws {
        // As Go's archive/tar: the next header follows a directory header directly.
        let archive = RawTarHeader(name: "d/", type: "5", size: 1000).sealed + RawTarHeader(name: "f", size: 1).sealed + padded([9]) + endOfArchive
        let read = try readTar(archive)
        #expect(read.map(\.entry.path) == ["d/", "f"])
        #expect(read.first?.entry.size == 1000)
        #expect(read.first?.entry.dataSize == 0)
        #expect(read.last?.data == [9])
    }

    // MARK: PAX and GNU extended headers

    @Test func paxRecordsOverrideTheHeader() throws {
        let records = paxData([
            ("path", "from/pax/" + String(repeating: "p", count: 200)), ("linkpath", "target"), ("size", "5"),
            ("uid", "3000000"), ("gid", "7"), ("uname", "paxuser"), ("gname", "paxgroup"),
            ("mtime", "1700000000.25"), ("SCHILY.xattr.user.x", "v"),
        ])
        let archive = RawTarHeader(name: "PaxHeaders/x", type: "x", size: Int64(records.count)).sealed + padded(records)
            + RawTarHeader(name: "short", size: 0).sealed + padded([1, 2, 3, 4, 5]) + endOfArchive
        let entry = try #require(try readTar(archive, chunkSize: 3).first)
        #expect(entry.entry.path == "from/pax/" + String(repeating: "p", count: 200))
        #expect(entry.entry.linkName == "target")
        #expect(entry.entry.size == 5)
        #expect(entry.data == [1, 2, 3, 4, 5])
        #expect(entry.entry.uid == 3_000_000)
        #expect(entry.entry.gid == 7)
        #expect(entry.entry.userName == "paxuser")
        #expect(entry.entry.groupName == "paxgroup")
        #expect(entry.entry.modificationTime == TarTimestamp(seconds: 1_700_000_000, nanoseconds: 250_000_000))
        #expect(entry.entry.paxRecord("SCHILY.xattr.user.x") == "v")
    }

    @Test func globalRecordsApplyToLaterEntries() throws {
        let global = paxData([("uname", "global"), ("comment", "made by hand")])
        let local = paxData([("uname", "local")])
        let reset = paxData([("uname", "")])
        var header = RawTarHeader(name: "third")
        header.set(265..<297, Array("header".utf8))
        let archive = RawTarHeader(name: "g", type: "g", size: Int64(global.count)).sealed + padded(global)
            + RawTarHeader(name: "first").sealed
            + RawTarHeader(name: "x", type: "x", size: Int64(local.count)).sealed + padded(local)
            + RawTarHeader(name: "second").sealed
            + RawTarHeader(name: "g", type: "g", size: Int64(reset.count)).sealed + padded(reset)
            + header.sealed
            // A global header right before the end is fine: it describes no single entry.
            + RawTarHeader(name: "g", type: "g", size: Int64(global.count)).sealed + padded(global)
            + endOfArchive
        let read = try readTar(archive)
        #expect(read.map(\.entry.userName) == ["global", "local", "header"])
        #expect(read.map { $0.entry.paxRecord("comment") } == ["made by hand", "made by hand", "made by hand"])
        #expect(read[2].entry.paxRecords["uname"] == nil)
    }

    @Test func gnuLongNamesAndLinks() throws {
        let name = String(repeating: "n", count: 300)
        let link = String(repeating: "l", count: 200)
        let pax = paxData([("path", "pax-loses")])
        let archive = RawTarHeader(name: "././@LongLink", type: "L", size: Int64(name.utf8.count + 1)).sealed + padded(Array(name.utf8) + [0])
            + RawTarHeader(name: "././@LongLink", type: "K", size: Int64(link.utf8.count + 1)).sealed + padded(Array(link.utf8) + [0])
            + RawTarHeader(name: "x", type: "x", size: Int64(pax.count)).sealed + padded(pax)
            + RawTarHeader(name: "truncated-name", type: "2").sealed + endOfArchive
        let entry = try #require(try readTar(archive, chunkSize: 1).first?.entry)
        #expect(entry.path == name)
        #expect(entry.linkName == link)
        #expect(entry.type == .symbolicLink)
    }

    @Test func extendedHeadersBeyondTheLimitAreRefused() {
        let hugePAX = RawTarHeader(name: "x", type: "x", size: 0o77777777777).sealed
        #expect(tarError(hugePAX) == .extendedHeaderTooLarge(size: 0o77777777777, limit: 1 << 20, offset: 0))
        let longName = RawTarHeader(name: "L", type: "L", size: 2 << 20).sealed
        #expect(tarError(longName) == .extendedHeaderTooLarge(size: 2 << 20, limit: 1 << 20, offset: 0))
        let records = paxData([("comment", String(repeating: "c", count: 300))])
        let archive = RawTarHeader(name: "x", type: "x", size: Int64(records.count)).sealed + padded(records) + RawTarHeader(name: "f").sealed + endOfArchive
        #expect(tarError(archive, metadataLimit: 100) == .extendedHeaderTooLarge(size: Int64(records.count), limit: 100, offset: 0))
        #expect(tarError(archive) == nil)
    }

    @Test func globalRecordsTogetherAreCapped() {
        var archive: [UInt8] = []
        for index in 0..<20 {
            let records = paxData([("key\(index)", String(repeating: "v", count: 90))])
            archive += RawTarHeader(name: "g", type: "g", size: Int64(records.count)).sealed + padded(records)
        }
        let error = tarError(archive + endOfArchive, metadataLimit: 1000)
        guard case .extendedHeaderTooLarge(_, 1000, _)? = error else {
            Issue.record("\(String(describing: error))")
            return
        }
    }

    @Test(arguments: [
        "99999999999999999999999999 path=x\n",
        "0 =\n",
        "100 path=x\n",
        "11 pathxyz\n",
        "11 path=abcd",
        "5 =a\n",
        "x path=y\n",
        " 9 path=\n",
        "4 a\n",
    ])
    func malformedPAXRecordsAreRefused(_ data: String) {
        let bytes = Array(data.utf8)
        let archive = RawTarHeader(name: "x", type: "x", size: Int64(bytes.count)).sealed + padded(bytes) + RawTarHeader(name: "f").sealed + endOfArchive
        #expect(tarError(archive) == .invalidPAXRecords(offset: 0))
    }

    @Test(arguments: [
        ("size", "-5"), ("size", "abc"), ("size", "99999999999999999999"), ("uid", "1e3"), ("gid", ""),
        ("mtime", "abc"), ("mtime", "1."), ("mtime", "--1"), ("path", "a\u{0}b"),
    ])
    func invalidPAXValuesAreRefused(_ key: String, _ value: String) {
        let records = paxData([(key, value)])
        let archive = RawTarHeader(name: "x", type: "x", size: Int64(records.count)).sealed + padded(records) + RawTarHeader(name: "f").sealed + endOfArchive
        // An empty value deletes the record instead: it is valid.
        #expect(tarError(archive) == (value.isEmpty ? nil : .invalidPAXValue(key: key, offset: 0)))
    }

    @Test func paxTimesBeforeTheEpoch() throws {
        #expect(TarTimestamp(paxValue: "-1.5") == TarTimestamp(seconds: -2, nanoseconds: 500_000_000))
        #expect(TarTimestamp(paxValue: "-1.5")?.description == "-1.5")
        #expect(TarTimestamp(paxValue: "1.0000000019") == TarTimestamp(seconds: 1, nanoseconds: 1))
        #expect(TarTimestamp(paxValue: "+7") == TarTimestamp(seconds: 7))
        #expect(TarTimestamp(paxValue: "9223372036854775808") == nil)
        #expect(TarTimestamp(paxValue: "-9223372036854775807.5") == TarTimestamp(seconds: .min, nanoseconds: 500_000_000))
        #expect(TarTimestamp(seconds: 5, nanoseconds: 120_000_000).description == "5.12")
    }

    @Test func extendedHeadersWithoutTheirEntryAreRefused() {
        let records = paxData([("path", "p")])
        let pax = RawTarHeader(name: "x", type: "x", size: Int64(records.count)).sealed + padded(records)
        #expect(tarError(pax + endOfArchive) == .danglingExtendedHeader(offset: 0))
        #expect(tarError(pax) == .danglingExtendedHeader(offset: 0))
        let longName = RawTarHeader(name: "L", type: "L", size: 2).sealed + padded([65, 0])
        #expect(tarError(Array(Self.oneEntry.prefix(1536)) + longName) == .danglingExtendedHeader(offset: 1536))
    }

    // MARK: Robustness

    @Test func errorsAreSticky() throws {
        var reader = TarReader()
        var corrupt = Self.oneEntry
        corrupt[0] ^= 1
        #expect(throws: TarError.invalidChecksum(offset: 0)) { try reader.feed(corrupt) { _ in } }
        #expect(throws: TarError.invalidChecksum(offset: 0)) { try reader.feed(Self.oneEntry) { _ in } }
        #expect(throws: TarError.invalidChecksum(offset: 0)) { try reader.finish() }
    }

    @Test func handlerErrorsPropagateUnchanged() {
        struct Stop: Error {}
        var reader = TarReader()
        #expect(throws: Stop.self) { try reader.feed(Self.oneEntry) { _ in throw Stop() } }
    }

    /// Random changes to the headers of a valid archive, with their checksums made right again
    /// so that the field parsers see them: every outcome is an archive or a `TarError`.
    @Test func mutatedHeadersNeverCrash() throws {
        let longName = String(repeating: "n", count: 150)
        let records = paxData([("path", "p/" + longName), ("mtime", "1.5"), ("size", "3")])
        let archive = RawTarHeader(name: "x", type: "x", size: Int64(records.count)).sealed + padded(records)
            + RawTarHeader(name: "a", size: 3).sealed + padded([1, 2, 3])
            + RawTarHeader(name: "L", type: "L", size: 151).sealed + padded(Array(longName.utf8) + [0])
            + RawTarHeader(name: "b", type: "5").sealed
            + RawTarHeader(name: "c", size: 600).sealed + padded(Fixtures.noise(count: 600))
            + endOfArchive
        #expect(try readTar(archive).count == 3)
        let headerOffsets = [0, 1024, 2048, 3072, 3584]
        var generator = SeededGenerator(seed: 2024)
        for _ in 0..<600 {
            var mutated = archive
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<mutated.count, using: &generator)
                mutated[position] = UInt8.random(in: 0...255, using: &generator)
            }
            for offset in headerOffsets where mutated[offset..<(offset + 512)].contains(where: { $0 != 0 }) {
                var header = Array(mutated[offset..<(offset + 512)])
                for index in 148..<156 { header[index] = 32 }
                let digits = String(header.reduce(0) { $0 + Int($1) }, radix: 8)
                header.replaceSubrange(148..<156, with: Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 32])
                mutated.replaceSubrange(offset..<(offset + 512), with: header)
            }
            _ = tarError(mutated, chunkSize: Int.random(in: 1...2000, using: &generator))
        }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = tarError(bytes, chunkSize: Int.random(in: 1...600, using: &generator))
        }
    }
}
