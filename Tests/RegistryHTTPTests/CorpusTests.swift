import Foundation
import Testing

/// Replays the nasty inputs kept in `Corpus/<parser>/*.txt` (each file is one input, byte for
/// byte) through that parser's properties, every run. Add every crasher the fuzzers find.
@Suite("Parser corpus")
struct CorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    static var parsers: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test func everyParserHasACorpusAndEveryCorpusAParser() {
        #expect(Set(Self.parsers) == Set(ParserProperties.all.keys))
    }

    @Test(arguments: ParserProperties.all.keys.sorted())
    func corpusInputsKeepTheirParsersProperties(parser: String) throws {
        let directory = Self.corpus.appendingPathComponent(parser)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".txt") }.sorted()
        #expect(!files.isEmpty)
        let check = try #require(ParserProperties.all[parser])
        for file in files {
            let bytes = try Data(contentsOf: directory.appendingPathComponent(file))
            check(String(decoding: bytes, as: UTF8.self))
        }
    }
}
