import Foundation
import PropertyBased
@testable import RegistryCore
@testable import RegistryHTTP
import RegistryModel
import Testing

/// Random and adversarial inputs for every parser of what arrives over the network: built from
/// each grammar's own pieces (digits, separators, numbers at and past `Int64.max`), mixed with
/// arbitrary characters. Each property is in ``ParserProperties``; failures print the input and
/// a seed, and the input belongs in `Corpus/<parser>/` once fixed.
@Suite("Parser fuzzing")
struct ParserFuzzTests {
    /// Inputs per parser: keeps the whole suite to a few seconds in a debug build.
    static let runs = 1000

    /// Pieces that break number parsers: the edges of `Int64` and beyond, signs, and blanks.
    static let numberPieces = [
        "0", "1", "7", "9", "00", "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999", "-", "+", " ", "\t", "", "e", "x", ".",
    ]

    /// Characters of every kind: controls, ASCII, Latin-1, multi-byte, combining, emoji.
    static let anyCharacters: [String] = (0...127).map { String(UnicodeScalar(UInt8($0))) } + [
        "\u{80}", "\u{FF}", "é", "e\u{301}", "\u{FEFF}", "\u{202E}", "𝟘", "٣", "１", "🐳", "\u{FFFD}",
    ]

    /// Strings of up to `length` pieces, each a grammar piece (more often) or any character.
    static func text(_ pieces: [String], length: ClosedRange<Int> = 0...12) -> Generator<String, some Sequence & SendableMetatype> {
        let weighted = Array(repeating: pieces, count: 4).flatMap { $0 } + anyCharacters
        return Gen<String?>.element(of: weighted).map { $0! }.array(of: length).map { $0.joined() }
    }

    @Test func decimalNumbersNeverTrapAndRoundTrip() async {
        await propertyCheck(count: Self.runs, input: Self.text(Self.numberPieces)) { ParserProperties.checkDecimalNumber($0) }
        await propertyCheck(count: Self.runs, input: Gen.int64(in: 0...Int64.max)) { value in
            #expect(DecimalNumber(String(value)) == .value(value))
            #expect(DecimalNumber("000" + String(value)) == .value(value))
        }
        await propertyCheck(count: Self.runs, input: Gen.uint64(in: UInt64(Int64.max) + 1 ... UInt64.max)) { value in
            #expect(DecimalNumber(String(value)) == .tooLarge)
        }
    }

    @Test func contentRangesNeverTrapAndStayRepresentable() async {
        let pieces = Self.numberPieces + ["bytes=", "bytes ", "bytes", "/", "/*", "-", "--", "0-", "-0"]
        await propertyCheck(count: Self.runs, input: Self.text(pieces)) { ParserProperties.checkContentRange($0) }
    }

    @Test func contentRangesRoundTripWheneverTheLengthFits() async {
        let edges = Gen<Int64?>.element(of: [0, 1, 2, .max - 1, .max, -1, .min] as [Int64]).map { $0! }
        await propertyCheck(count: Self.runs, input: edges, edges) { Self.checkChunkRangeRoundTrip(start: $0, end: $1) }
        await propertyCheck(count: Self.runs, input: Gen.int64(), Gen.int64()) { Self.checkChunkRangeRoundTrip(start: $0, end: $1) }
        await propertyCheck(count: Self.runs, input: Gen.int64(in: 0...Int64.max), Gen.int64(in: 0...Int64.max)) {
            Self.checkChunkRangeRoundTrip(start: min($0, $1), end: max($0, $1))
        }
    }

    static func checkChunkRangeRoundTrip(start: Int64, end: Int64) {
        // With both non-negative, `end - start` cannot overflow; the length is one more.
        let fits = start >= 0 && end >= start && end - start < Int64.max
        let range = ChunkRange(start: start, end: end)
        #expect((range != nil) == fits, "\(start)-\(end)")
        guard let range else { return }
        #expect(ChunkRange(contentRange: "\(start)-\(end)") == range)
        #expect(ChunkRange(contentRange: "bytes \(start)-\(end)/*") == range)
        #expect(range.length == end - start + 1)
    }

    @Test func rangeHeadersNeverTrapAndStayWithinTheBlob() async {
        let pieces = Self.numberPieces + ["bytes=", "Bytes=", "bytes", "=", "-", ",", "0-", "-0", "*"]
        await propertyCheck(count: Self.runs, input: Self.text(pieces), Gen.int64(in: 0...Int64.max)) { header, size in
            ParserProperties.checkRange(header, size: size)
            ParserProperties.checkRange(header, size: size % 64)
        }
    }

    @Test func contentLengthsNeverTrapOrGoNegative() async {
        await propertyCheck(count: Self.runs, input: Self.text(Self.numberPieces)) { ParserProperties.checkContentLength($0) }
    }

    @Test func percentDecodingNeverTrapsAndRoundTrips() async {
        let pieces = ["%", "%2", "%2F", "%2f", "%zz", "%%", "%E2%9C%93", "%FF", "%C3", "+", "a", "/", "?", "&", "="]
        await propertyCheck(count: Self.runs, input: Self.text(pieces)) { ParserProperties.checkPercentDecoding($0) }
        await propertyCheck(count: Self.runs, input: Self.text(Self.anyCharacters)) { original in
            let encoded = original.utf8.map { String(format: "%%%02X", $0) }.joined()
            #expect(PercentDecoding.decode(encoded[...]) == original)
            #expect(PercentDecoding.decode(encoded[...], plusAsSpace: true) == original)
        }
    }

    @Test func requestTargetsNeverTrap() async {
        let pieces = ["/", "/v2", "/v2/", "_catalog", "blobs", "uploads", "manifests", "tags", "list", "referrers",
                      "_admin", "repositories", "gc", "a", "?", "&", "=", "n", "last", "%", "%2F", "..", "//", "sha256:"]
        await propertyCheck(count: Self.runs, input: Self.text(pieces, length: 0...16)) { ParserProperties.checkRequestTarget($0) }
    }

    @Test func routesRoundTripForValidNames() async {
        let segment = Gen.lowercaseLetter.string(of: 1...6)
        let name = segment.array(of: 1...4).map { $0.joined(separator: "/") }
        await propertyCheck(count: Self.runs, input: name, Gen.letterOrNumber.string(of: 1...10)) { name, reference in
            #expect(Route(path: "/v2/\(name)/manifests/\(reference)") == .manifest(name: name, reference: reference))
            #expect(Route(path: "/v2/\(name)/tags/list") == .tags(name: name))
            #expect(Route(path: "/v2/\(name)/blobs/uploads/\(reference)") == .upload(name: name, session: reference))
        }
    }

    @Test func acceptHeadersNeverTrap() async {
        let pieces = [MediaType.ociManifest, MediaType.ociIndex, "*/*", "application/*", ",", ";", "q=0.5", " ", "\t",
                      "APPLICATION/JSON", ";;", ",,"]
        await propertyCheck(count: Self.runs, input: Self.text(pieces)) { ParserProperties.checkAccept($0) }
    }

    @Test func basicCredentialsNeverTrapAndRoundTrip() async {
        let pieces = ["Basic ", "basic ", "Bearer ", "Basic", " ", "=", "==", "YWxpY2U6cHc=", "Og==", "////", "++++", "\u{0}"]
        await propertyCheck(count: Self.runs, input: Self.text(pieces)) { ParserProperties.checkAuthorization($0) }
        // Including a user name that starts with a byte-order mark (U+FEFF), which Foundation's
        // UTF-8 decoding used to drop.
        let user = Self.text(Self.anyCharacters).map { $0.replacingOccurrences(of: ":", with: "") }
        await propertyCheck(count: Self.runs, input: user, Self.text(Self.anyCharacters)) { user, password in
            let header = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            let parsed = AccessControl.basicCredentials(header)
            #expect(parsed?.0 == user && parsed?.1 == password)
        }
    }

    @Test func namesTagsAndDigestsNeverTrap() async {
        let namePieces = ["a", "z", "0", "/", ".", "_", "__", "-", "--", "..", "A", String(repeating: "a", count: 100)]
        await propertyCheck(count: Self.runs, input: Self.text(namePieces, length: 0...20)) { ParserProperties.checkRepositoryName($0) }
        let tagPieces = ["a", "Z", "0", "_", ".", "-", ":", "/", String(repeating: "t", count: 60)]
        await propertyCheck(count: Self.runs, input: Self.text(tagPieces)) { ParserProperties.checkTag($0) }
        let hex = String(repeating: "0123456789abcdef", count: 4)
        let digestPieces = ["sha256", "sha512", "sha256:", ":", "+", ".", "_", "-", hex, hex.uppercased(), "0", "f", "g"]
        await propertyCheck(count: Self.runs, input: Self.text(digestPieces, length: 0...6)) { ParserProperties.checkDigest($0) }
    }

    @Test func manifestsNeverTrapWhateverTheirNumbersAndShapes() async {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let pieces = [
            "{", "}", "[", "]", ",", ":", "\"", "null", "true", "2", "-1", "1e400", "9223372036854775808", "1.0",
            #""schemaVersion":"#, #""mediaType":"#, #""config":"#, #""layers":"#, #""manifests":"#, #""size":"#,
            #""digest":"#, #""\#(digest)""#, #""\#(MediaType.ociManifest)""#, #""\#(MediaType.ociIndex)""#,
        ]
        await propertyCheck(count: Self.runs, input: Self.text(pieces, length: 0...24)) { ParserProperties.checkManifest($0) }
        // A valid manifest with any number where the size goes.
        await propertyCheck(count: Self.runs, input: Self.text(Self.numberPieces, length: 0...4)) { size in
            ParserProperties.checkManifest("""
                {"schemaVersion":2,"config":{"mediaType":"x","digest":"\(digest)","size":\(size)},"layers":[]}
                """)
        }
    }
}
