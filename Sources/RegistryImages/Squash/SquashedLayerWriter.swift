import Foundation
import RegistryLayers
import RegistryModel

/// Writes the squashed layer: a tar, gzip-compressed into a file, both hashed on the way (the
/// tar's digest is the new diff_id, the file's the layer's distribution digest). Nothing is
/// read back.
final class SquashedLayerWriter {
    struct Written {
        var digest: Digest
        var diffID: Digest
        var size: Int64
        var uncompressedSize: Int64
    }

    private var tar = TarWriter()
    private let gzip: GzipCompressor
    private let file: FileHandle
    private var tarHasher = DigestHasher(algorithm: .sha256)
    private var gzipHasher = DigestHasher(algorithm: .sha256)
    private var tarSize: Int64 = 0
    private var gzipSize: Int64 = 0

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let file = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        self.file = file
        gzip = try GzipCompressor()
    }

    deinit {
        try? file.close()
    }

    private func compressed(_ piece: UnsafeRawBufferPointer) throws {
        gzipHasher.update(bufferPointer: piece)
        gzipSize += Int64(piece.count)
        try file.write(contentsOf: Data(piece))
    }

    private func archived(_ piece: UnsafeRawBufferPointer) throws {
        tarHasher.update(bufferPointer: piece)
        tarSize += Int64(piece.count)
        try gzip.compress(piece) { try compressed($0) }
    }

    func begin(_ entry: TarEntry) throws {
        try tar.beginEntry(entry) { try archived($0) }
    }

    func write(_ data: UnsafeRawBufferPointer) throws {
        try tar.writeData(data) { try archived($0) }
    }

    func end() throws {
        try tar.endEntry { try archived($0) }
    }

    /// Ends the archive and the gzip stream, and makes the file durable.
    func finish() throws -> Written {
        try tar.finish { try archived($0) }
        try gzip.finish { try compressed($0) }
        try file.synchronize()
        try file.close()
        return Written(digest: gzipHasher.finalize(), diffID: tarHasher.finalize(), size: gzipSize, uncompressedSize: tarSize)
    }
}
