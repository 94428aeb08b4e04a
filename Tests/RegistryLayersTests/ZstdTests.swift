import RegistryLayers
import RegistryModel
import Testing

@Suite("zstd")
struct ZstdTests {
    let data = Fixtures.bytes(count: 300_000)

    func unzstd(_ input: [UInt8], chunkSize: Int = 4096) throws -> [UInt8] {
        try decompress(input, with: LayerDecompressor(mediaType: MediaType.ociLayerZstd), chunkSize: chunkSize)
    }

    /// `zstd` compresses with a content checksum by default (`-C`).
    func zstd(_ input: [UInt8], _ arguments: [String] = []) throws -> [UInt8] {
        try CommandLineTool.run("zstd", ["-q", "-c"] + arguments, input: input)
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("zstd")))
    func readsTheZstdCommandsOutput() throws {
        let compressed = try zstd(data, ["-19"])
        #expect(LayerCompression.detect(prefix: compressed) == .zstd)
        #expect(try unzstd(compressed) == data)
        #expect(try unzstd(compressed, chunkSize: compressed.count) == data)
        #expect(try unzstd(zstd([])) == [])
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("zstd")))
    func concatenatedFramesDecompressToTheConcatenation() throws {
        let second = Fixtures.bytes(count: 70_000, seed: 7)
        let first = try zstd(data)
        let stream = try first + zstd(second, ["--no-check"])
        #expect(try unzstd(stream) == data + second)
        #expect(try unzstd(stream, chunkSize: first.count) == data + second)
        let decompressor = try ZstdDecompressor()
        var total = 0
        try decompressor.decompress(stream) { total += $0.count }
        try decompressor.finish()
        #expect(total == data.count + second.count)
        #expect(decompressor.consumedByteCount == UInt64(stream.count))
        #expect(decompressor.producedByteCount == UInt64(total))
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("zstd")))
    func feedingOneByteAtATimeGivesTheSameOutput() throws {
        let small = Array(data.prefix(40_000))
        let stream = try zstd(small) + zstd(Array(small.prefix(1000)))
        #expect(try unzstd(stream, chunkSize: 1) == small + small.prefix(1000))
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("zstd")))
    func highlyCompressibleDataComesOutInBoundedPieces() throws {
        let compressed = try zstd([UInt8](repeating: 0, count: 4 << 20))
        let decompressor = try ZstdDecompressor()
        var largest = 0
        var total = 0
        try decompressor.decompress(compressed) { piece in
            largest = max(largest, piece.count)
            total += piece.count
        }
        try decompressor.finish()
        #expect(total == 4 << 20)
        #expect(largest <= 64 * 1024)
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("zstd")))
    func truncatedInputIsReportedAtFinish() throws {
        let compressed = try zstd(Array(data.prefix(50_000)))
        for length in [0, 1, 4, 6, compressed.count / 2, compressed.count - 4, compressed.count - 1] {
            #expect(throws: LayerCodecError.truncated(.zstd), "cut at \(length)") {
                try unzstd(Array(compressed.prefix(length)))
            }
        }
        #expect(throws: LayerCodecError.truncated(.zstd)) { try unzstd(compressed + compressed.prefix(7)) }
    }

    @Test(.enabled(if: CommandLineTool.isAvailable("zstd")))
    func corruptInputThrowsCorrupt() throws {
        let compressed = try zstd(Array(data.prefix(50_000)))
        var flippedBody = compressed
        flippedBody[compressed.count / 2] ^= 0x55
        var flippedChecksum = compressed
        flippedChecksum[compressed.count - 2] ^= 0x01
        let cases: [(String, [UInt8])] = [
            ("not zstd", Array("this is not compressed at all".utf8)),
            ("flipped body byte", flippedBody),
            ("wrong checksum", flippedChecksum),
            ("garbage after a frame", compressed + Array("trailing".utf8)),
        ]
        for (name, input) in cases {
            let error = #expect(throws: LayerCodecError.self, "\(name)") { try unzstd(input) }
            guard case .corrupt(.zstd, let detail)? = error else {
                Issue.record("\(name): \(String(describing: error)) is not a corrupt-zstd error")
                continue
            }
            #expect(!detail.isEmpty)
        }
    }

    @Test func framesAskingForAHugeWindowAreRefused() throws {
        // Magic, a frame header descriptor without single-segment flag, then a window
        // descriptor of exponent 21: a 2 GiB window. Then an empty last raw block.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 21 << 3, 0x01, 0x00, 0x00]
        let error = #expect(throws: LayerCodecError.self) { try unzstd(frame) }
        guard case .memoryLimitExceeded(.zstd, _)? = error else {
            Issue.record("\(String(describing: error)) is not memoryLimitExceeded")
            return
        }
    }

    @Test func emptyInputIsTruncated() throws {
        #expect(throws: LayerCodecError.truncated(.zstd)) { try unzstd([]) }
    }
}
