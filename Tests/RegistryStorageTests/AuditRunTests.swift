import Testing

@testable import RegistryStorage

@Suite("Audit runs")
struct AuditRunTests {
    @Test func recordsComeBackExactlyWhateverTheirTimes() throws {
        let records: [(id: Int64, at: Int64)] = [
            (100, 1_764_000_000_000), (101, 1_764_000_000_000), (105, 1_763_999_999_990), (106, 1_764_000_003_000),
            (1 << 40, -5), (1 << 40 + 1, .max), (Int64.max, .min),
        ]
        var run = AuditRun()
        for record in records { run.append(id: record.id, at: record.at) }
        #expect(run.firstID == 100)
        #expect(run.lastID == .max)
        #expect(run.firstAt == 1_764_000_000_000)
        #expect(run.minAt == .min)
        #expect(run.maxAt == .max)
        #expect(run.count == records.count)
        let decoded = try #require(AuditRun.decode(firstID: run.firstID, firstAt: run.firstAt, entries: run.entries))
        #expect(decoded.elementsEqual(records) { $0.id == $1.id && $0.at == $1.at })
    }

    @Test func aRunOfPullsTakesAFewBytesARecord() {
        var run = AuditRun()
        for index in 0..<1000 { run.append(id: Int64(5000 + index), at: 1_764_000_000_000 + Int64(index / 3)) }
        #expect(run.entries.count <= 2 * 1000)
    }

    @Test func aRunOfOneRecordIsTwoZeroBytes() {
        var run = AuditRun()
        run.append(id: 7, at: 1_764_000_000_000)
        #expect(run.entries == [0, 0])
    }

    @Test(arguments: [
        [0x80],  // cut short
        [0, 0, 0, 0],  // a second record with the same id
        [1, 0],  // the first record is not the run's first id
        [0, 0, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0],  // more than 64 bits
        [0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0],  // an id step past Int64.max
    ] as [[UInt8]])
    func aBlobThisTypeDidNotWriteIsRefusedNotTrapped(entries: [UInt8]) {
        #expect(AuditRun.decode(firstID: 1, firstAt: 0, entries: entries) == nil)
    }

    @Test func idsPastInt64AreRefused() {
        #expect(AuditRun.decode(firstID: .max - 1, firstAt: 0, entries: [0, 0, 2, 0]) == nil)
        #expect(AuditRun.decode(firstID: .max - 1, firstAt: 0, entries: [0, 0, 1, 0])?.last?.id == .max)
    }
}
