import NIOHTTP1
@testable import RegistryCore
@testable import RegistryHTTP
import RegistryModel
import Testing

@Suite("Decimal numbers from headers and queries")
struct DecimalNumberTests {
    @Test(arguments: [("0", Int64(0)), ("007", 7), ("9223372036854775807", .max)])
    func digitsParseToTheirValue(text: String, value: Int64) {
        #expect(DecimalNumber(text) == .value(value))
    }

    @Test(arguments: ["9223372036854775808", "18446744073709551616", String(repeating: "9", count: 400)])
    func numbersBeyondInt64AreTooLargeNotATrap(text: String) {
        #expect(DecimalNumber(text) == .tooLarge)
        #expect(DecimalNumber(text)?.saturated == .max)
        #expect(DecimalNumber(text)?.exact == nil)
    }

    @Test(arguments: ["", "+5", "-0", "-1", " 1", "1 ", "0x10", "1e3", "١٢", "１", "5\u{0}"])
    func anythingButDigitsIsNotANumber(text: String) {
        #expect(DecimalNumber(text) == nil)
    }
}

@Suite("Content-Range of chunk uploads")
struct ContentRangeParsingTests {
    @Test(arguments: ["0-9", "bytes=0-9", "bytes 0-9", "0-9/10", "0-9/*", "bytes 0-9/10"])
    func acceptedSpellingsGiveTheSameRange(header: String) throws {
        let range = try #require(ChunkRange(contentRange: header))
        #expect(range.start == 0 && range.end == 9 && range.length == 10)
    }

    @Test func theLargestRepresentableRangeHasLengthInt64Max() throws {
        let range = try #require(ChunkRange(contentRange: "1-9223372036854775807"))
        #expect(range.length == .max)
    }

    /// Regression: `0-9223372036854775807` made `length` (`end - start + 1`) overflow and trap,
    /// killing the server on one PATCH.
    @Test(arguments: ["0-9223372036854775807", "0-9223372036854775808", "0-99999999999999999999999",
                      "99999999999999999999-99999999999999999999"])
    func rangesWhoseLengthCannotBeRepresentedAreRefused(header: String) {
        #expect(ChunkRange(contentRange: header) == nil)
    }

    @Test(arguments: ["", "-", "5", "5-", "-5", "9-0", "a-b", "0--1", "-1-5", "+0-5", "0-+5", "1-2-3", "0 - 9",
                      "bytes=", "bytes=-5", "BYTES 0-9x"])
    func malformedRangesAreRefused(header: String) {
        #expect(ChunkRange(contentRange: header) == nil)
    }

    @Test func theInitialiserRefusesWhatTheHeaderCannotMean() {
        #expect(ChunkRange(start: 0, end: .max) == nil)
        #expect(ChunkRange(start: -1, end: 5) == nil)
        #expect(ChunkRange(start: 5, end: 4) == nil)
        #expect(ChunkRange(start: .max, end: .max)?.length == 1)
    }
}

@Suite("Range requests on blobs")
struct ByteRangeParsingTests {
    @Test func singleRangesResolveAgainstTheSize() {
        #expect(ByteRange.parse("bytes=0-9", size: 100) == .partial(0..<10))
        #expect(ByteRange.parse("bytes=90-", size: 100) == .partial(90..<100))
        #expect(ByteRange.parse("bytes=-10", size: 100) == .partial(90..<100))
        #expect(ByteRange.parse("bytes=-1000", size: 100) == .partial(0..<100))
        #expect(ByteRange.parse("bytes=50-1000", size: 100) == .partial(50..<100))
        #expect(ByteRange.parse("Bytes=0-0", size: 100) == .partial(0..<1))
    }

    @Test func absentMultiAndMalformedHeadersServeTheWhole() {
        for header: String? in [nil, "", "bytes=", "bytes=0-1,5-6", "items=0-1", "bytes=a-b", "bytes=5-4", "bytes=+1-2", "bytes=-", "bytes=--1"] {
            #expect(ByteRange.parse(header, size: 100) == .whole, "\(header ?? "nil")")
        }
    }

    @Test func rangesPastTheEndAreUnsatisfiable() {
        #expect(ByteRange.parse("bytes=100-", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-5", size: 0) == .unsatisfiable)
    }

    /// Numbers beyond `Int64` follow RFC 9110: a first position past every blob is unsatisfiable,
    /// a last position or suffix beyond it means "to the end".
    @Test func positionsBeyondInt64NeitherTrapNorEscapeTheBlob() {
        let huge = "99999999999999999999999"
        #expect(ByteRange.parse("bytes=\(huge)-", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=\(huge)-\(huge)", size: 100) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=10-\(huge)", size: 100) == .partial(10..<100))
        #expect(ByteRange.parse("bytes=-\(huge)", size: 100) == .partial(0..<100))
        #expect(ByteRange.parse("bytes=\(huge)-5", size: 100) == .whole)
        #expect(ByteRange.parse("bytes=0-9223372036854775807", size: .max) == .partial(0..<Int64.max))
        #expect(ByteRange.parse("bytes=-9223372036854775807", size: .max) == .partial(0..<Int64.max))
    }
}

@Suite("Content-Length of requests")
struct ContentLengthTests {
    func length(_ value: String) -> Int64? {
        Request(method: .PUT, uri: "/", headers: ["Content-Length": value]).contentLength
    }

    @Test func validLengthsAreRead() {
        #expect(length("0") == 0)
        #expect(length("104857600") == 104_857_600)
    }

    @Test func lengthsBeyondInt64ReadAsTheLargestLength() {
        #expect(length("99999999999999999999999") == .max)
    }

    @Test func malformedLengthsAreAbsent() {
        #expect(length("-1") == nil)
        #expect(length("+5") == nil)
        #expect(length("five") == nil)
        #expect(Request(method: .PUT, uri: "/").contentLength == nil)
    }
}
