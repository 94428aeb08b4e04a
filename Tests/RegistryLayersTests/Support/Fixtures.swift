import Foundation
import RegistryLayers
import Testing

/// Deterministic test data.
enum Fixtures {
    /// Pseudo-random bytes drawn from a small alphabet: compressible like real files, and never
    /// the same two blocks in a row.
    static func bytes(count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed | 1
        let alphabet = Array("abcdefghij klmnop\nqrstuvwxyz0123456789".utf8)
        return (0..<count).map { _ in
            // xorshift64
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return alphabet[Int(state % UInt64(alphabet.count))]
        }
    }

    /// Pseudo-random bytes over the full byte range (incompressible).
    static func noise(count: Int, seed: UInt64 = 42) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }
}

/// A pseudo-random number generator with a seed, so that the fuzz-like tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Splits `bytes` into chunks of `size` (the last one shorter).
func chunks(of bytes: [UInt8], size: Int) -> [ArraySlice<UInt8>] {
    stride(from: 0, to: bytes.count, by: size).map { bytes[$0..<min($0 + size, bytes.count)] }
}

/// Everything a decompressor yields for `input` fed in chunks of `chunkSize`, after `finish()`.
/// Also checks that no piece exceeds 64 KiB.
func decompress(_ input: [UInt8], with decompressor: LayerDecompressor, chunkSize: Int = 4096) throws -> [UInt8] {
    var output: [UInt8] = []
    for chunk in chunks(of: input, size: max(chunkSize, 1)) {
        try decompressor.decompress(chunk) { piece in
            if piece.count > 64 * 1024 { Issue.record("a piece of \(piece.count) bytes, more than 64 KiB") }
            output += piece
        }
    }
    try decompressor.finish()
    return output
}

/// `input` through a fresh `GzipCompressor`, fed in chunks of `chunkSize`.
func gzip(_ input: [UInt8], level: Int = GzipCompressor.defaultLevel, chunkSize: Int = 8192) throws -> [UInt8] {
    let compressor = try GzipCompressor(level: level)
    var output: [UInt8] = []
    for chunk in chunks(of: input, size: chunkSize) {
        try compressor.compress(chunk) { output += $0 }
    }
    try compressor.finish { output += $0 }
    return output
}

/// An entry and its data, as `TarReader` reported them.
struct ReadEntry: Equatable {
    var entry: TarEntry
    var data: [UInt8]
}

/// Reads a whole archive fed in chunks of `chunkSize`, checking that the events come in order.
func readTar(_ archive: [UInt8], chunkSize: Int = 4096, metadataLimit: Int = TarReader.defaultMetadataLimit) throws -> [ReadEntry] {
    var reader = TarReader(metadataLimit: metadataLimit)
    var entries: [ReadEntry] = []
    var open = false
    for chunk in chunks(of: archive, size: max(chunkSize, 1)) {
        try reader.feed(chunk) { event in
            switch event {
            case .entry(let entry):
                if open { Issue.record("entry before the previous entryEnd") }
                entries.append(ReadEntry(entry: entry, data: []))
                open = true
            case .data(let bytes):
                guard open, !entries.isEmpty else {
                    Issue.record("data outside an entry")
                    return
                }
                entries[entries.count - 1].data += bytes
            case .entryEnd:
                guard open, let last = entries.last else {
                    Issue.record("entryEnd outside an entry")
                    return
                }
                if Int64(last.data.count) != last.entry.dataSize {
                    Issue.record("\(last.entry.path): \(last.data.count) bytes of data, dataSize \(last.entry.dataSize)")
                }
                open = false
            }
        }
    }
    try reader.finish()
    if open { Issue.record("archive ended inside an entry") }
    return entries
}

/// The first `TarError` reading `archive` throws, nil when it reads cleanly.
func tarError(_ archive: [UInt8], chunkSize: Int = 4096, metadataLimit: Int = TarReader.defaultMetadataLimit) -> TarError? {
    do {
        _ = try readTar(archive, chunkSize: chunkSize, metadataLimit: metadataLimit)
        return nil
    } catch let error as TarError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// An archive written by `TarWriter`.
func writeTar(_ entries: [(TarEntry, [UInt8])]) throws -> [UInt8] {
    var writer = TarWriter()
    var archive: [UInt8] = []
    for (entry, data) in entries {
        try writer.writeEntry(entry, data: data) { archive += $0 }
    }
    try writer.finish { archive += $0 }
    return archive
}
