import RegistryLayers
import RegistryModel
import Testing

@Suite("gzip")
struct GzipTests {
    let data = Fixtures.bytes(count: 300_000)

    func gunzip(_ input: [UInt8], chunkSize: Int = 4096) throws -> [UInt8] {
        try decompress(input, with: LayerDecompressor(compression: .gzip), chunkSize: chunkSize)
    }

    @Test func roundTrip() throws {
        let compressed = try gzip(data)
        #expect(compressed.count < data.count * 3 / 4, "about 5.3 bits of entropy a byte")
        #expect(LayerCompression.detect(prefix: compressed) == .gzip)
        #expect(try gunzip(compressed) == data)
        #expect(try gunzip(compressed, chunkSize: compressed.count) == data)
    }

    @Test(arguments: [0, 1, 9])
    func everyLevelRoundTrips(_ level: Int) throws {
        #expect(try gunzip(gzip(data, level: level)) == data)
    }

    @Test func emptyInputCompressesToAValidMember() throws {
        #expect(try gunzip(gzip([])) == [])
    }

    @Test func outputIsDeterministic() throws {
        let first = try gzip(data)
        #expect(try gzip(data, chunkSize: 1000) == first)
        // MTIME (bytes 4..<8 of the member header) is zero: no clock in the output.
        #expect(Array(first[4..<8]) == [0, 0, 0, 0])
    }

    @Test func concatenatedMembersDecompressToTheConcatenation() throws {
        let second = Fixtures.bytes(count: 70_000, seed: 7)
        let stream = try gzip(data) + gzip(second)
        let decompressor = try GzipDecompressor()
        var output: [UInt8] = []
        for chunk in chunks(of: stream, size: 5000) {
            try decompressor.decompress(chunk) { output += $0 }
        }
        try decompressor.finish()
        #expect(output == data + second)
        #expect(decompressor.memberCount == 2)
        #expect(decompressor.consumedByteCount == UInt64(stream.count))
        #expect(decompressor.producedByteCount == UInt64(data.count + second.count))
        // A member boundary in the middle of a chunk, and one exactly at a chunk's end.
        #expect(try gunzip(stream, chunkSize: stream.count) == data + second)
        #expect(try gunzip(stream, chunkSize: try gzip(data).count) == data + second)
    }

    @Test func feedingOneByteAtATimeGivesTheSameOutput() throws {
        let small = Array(data.prefix(40_000))
        let stream = try gzip(small) + gzip(Array(small.prefix(1000)))
        #expect(try gunzip(stream, chunkSize: 1) == small + small.prefix(1000))
        // And compressing one byte at a time.
        #expect(try gunzip(gzip(small, chunkSize: 1)) == small)
    }

    @Test func highlyCompressibleDataComesOutInBoundedPieces() throws {
        let zeros = [UInt8](repeating: 0, count: 4 << 20)
        let compressed = try gzip(zeros)
        #expect(compressed.count < 10_000)
        let decompressor = try GzipDecompressor()
        var largest = 0
        var total = 0
        try compressed.withUnsafeBytes { bytes in
            try decompressor.decompress(bytes) { piece in
                largest = max(largest, piece.count)
                total += piece.count
            }
        }
        try decompressor.finish()
        #expect(total == zeros.count)
        #expect(largest <= 64 * 1024)
    }

    @Test func truncatedInputIsReportedAtFinish() throws {
        let compressed = try gzip(Array(data.prefix(50_000)))
        for length in [0, 1, 2, 9, 10, 11, 100, compressed.count / 2, compressed.count - 8, compressed.count - 1] {
            #expect(throws: LayerCodecError.truncated(.gzip), "cut at \(length)") {
                try gunzip(Array(compressed.prefix(length)))
            }
        }
        // A complete member followed by part of a second one.
        #expect(throws: LayerCodecError.truncated(.gzip)) { try gunzip(compressed + compressed.prefix(15)) }
    }

    @Test func corruptInputThrowsCorrupt() throws {
        let compressed = try gzip(Array(data.prefix(50_000)))
        var flippedBody = compressed
        flippedBody[compressed.count / 2] ^= 0x55
        var flippedChecksum = compressed
        flippedChecksum[compressed.count - 6] ^= 0x01
        let cases: [(String, [UInt8])] = [
            ("not gzip", Array("this is not compressed at all".utf8)),
            ("flipped body byte", flippedBody),
            ("wrong CRC-32", flippedChecksum),
            ("garbage after a member", compressed + Array("trailing".utf8)),
            ("zero padding after a member", compressed + [UInt8](repeating: 0, count: 16)),
        ]
        for (name, input) in cases {
            let error = #expect(throws: LayerCodecError.self, "\(name)") { try gunzip(input) }
            guard case .corrupt(.gzip, let detail)? = error else {
                Issue.record("\(name): \(String(describing: error)) is not a corrupt-gzip error")
                continue
            }
            #expect(!detail.isEmpty)
        }
    }

    @Test func invalidLevelsAreRefused() {
        #expect(throws: LayerCodecError.invalidLevel(10)) { try GzipCompressor(level: 10) }
        #expect(throws: LayerCodecError.invalidLevel(-1)) { try GzipCompressor(level: -1) }
    }

    @Test func useAfterFinishIsAnError() throws {
        let compressor = try GzipCompressor()
        try compressor.finish { _ in }
        #expect(throws: LayerCodecError.alreadyFinished(.gzip)) { try compressor.compress([1, 2, 3]) { _ in } }
        #expect(throws: LayerCodecError.alreadyFinished(.gzip)) { try compressor.finish { _ in } }
        let decompressor = try GzipDecompressor()
        try decompressor.decompress(gzip([1])) { _ in }
        try decompressor.finish()
        #expect(throws: LayerCodecError.alreadyFinished(.gzip)) { try decompressor.decompress([1]) { _ in } }
    }

    @Test func sinkErrorsPropagateUnchanged() throws {
        struct Stop: Error {}
        let decompressor = try GzipDecompressor()
        #expect(throws: Stop.self) { try decompressor.decompress(gzip(data)) { _ in throw Stop() } }
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("gzip")))
    func readsTheGzipCommandsOutput() throws {
        let first = try CommandLineTool.run("gzip", ["-c", "-9"], input: data)
        let second = try CommandLineTool.run("gzip", ["-c", "-1"], input: Array(data.prefix(1234)))
        #expect(try gunzip(first) == data)
        // `cat a.gz b.gz` is a valid gzip file: gzip -d gives the concatenation, and so do we.
        #expect(try gunzip(first + second, chunkSize: 999) == data + data.prefix(1234))
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("gzip")))
    func theGzipCommandReadsOurOutput() throws {
        let compressed = try gzip(data)
        #expect(try CommandLineTool.run("gzip", ["-d", "-c"], input: compressed) == data)
        // gzip -t also checks the trailer.
        try CommandLineTool.run("gzip", ["-t"], input: compressed)
    }
}
