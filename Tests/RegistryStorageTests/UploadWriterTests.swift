import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import SystemPackage
import Testing

@Suite("Upload writer")
struct UploadWriterTests {
    /// A storage root on the temporary directory's file system (direct I/O on ext4 and xfs),
    /// and one on tmpfs where there is one (which refuses direct I/O: buffered writes).
    static let roots: [String] = {
        var roots = [FileManager.default.temporaryDirectory.path]
        if FileManager.default.isWritableFile(atPath: "/dev/shm") { roots.append("/dev/shm") }
        return roots
    }()

    private func withStore(under parent: String, _ body: (FilesystemBlobStore) async throws -> Void) async throws {
        let root = parent + "/upload-writer-\(UUID().uuidString)"
        let store = FilesystemBlobStore(layout: StorageLayout(root: FilePath(root)))
        try await store.prepare()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await body(store)
    }

    private func contents(of id: UploadID, in store: FilesystemBlobStore) async throws -> [UInt8] {
        let reader = try await store.openReader(id)
        var bytes: [UInt8] = []
        for try await chunk in reader.chunks(in: 0..<reader.size, chunkSize: 1 << 20) {
            bytes += chunk.readableBytesView
        }
        try await reader.close()
        return bytes
    }

    private func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Appends `bytes` in pieces of the given sizes, cycling through them.
    private func append(_ bytes: ArraySlice<UInt8>, to writer: any UploadWriter, pieces: [Int]) async throws {
        var offset = bytes.startIndex
        var index = 0
        while offset < bytes.endIndex {
            let end = min(offset + pieces[index % pieces.count], bytes.endIndex)
            try await writer.append(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            index += 1
        }
    }

    /// Writes one chunk of an upload the way a request does: open at its offset, append in
    /// pieces, finish. Returns the length the writer reports at the end.
    private func writeChunk(
        _ bytes: [UInt8], of id: UploadID, at offset: Int, pieces: [Int], in store: FilesystemBlobStore
    ) async throws -> Int64 {
        let writer = try await store.openWriter(id, at: Int64(offset))
        try await append(bytes[...], to: writer, pieces: pieces)
        try await writer.finish()
        try await writer.close()
        return writer.writtenLength
    }

    @Test(arguments: roots)
    func appendedBytesLandExactlyAcrossBlocksAndOddOffsets(under parent: String) async throws {
        try await withStore(under: parent) { store in
            let id = UploadID()
            // Several blocks, pieces that straddle page and block boundaries, an odd total.
            let first = randomBytes(3 << 20 + 12_345)
            _ = try await writeChunk(first, of: id, at: 0, pieces: [65_536, 1, 4095, 300_001, 1 << 20], in: store)
            #expect(try await contents(of: id, in: store) == first)
            // A second chunk continues at an offset that is not on a page boundary.
            let second = randomBytes(2 << 20 + 777)
            let length = try await writeChunk(second, of: id, at: first.count, pieces: [7, 1 << 20, 99_999], in: store)
            #expect(length == Int64(first.count + second.count))
            #expect(try await contents(of: id, in: store) == first + second)
        }
    }

    @Test(arguments: roots)
    func truncatingDropsWhatWasGatheredAndWritingGoesOnFromThere(under parent: String) async throws {
        try await withStore(under: parent) { store in
            let id = UploadID()
            let kept = randomBytes(1 << 20 + 5)
            let writer = try await store.openWriter(id, at: 0)
            try await writer.append(ByteBuffer(bytes: kept))
            // Some of this is written, some still gathered, when the chunk is abandoned.
            try await writer.append(ByteBuffer(bytes: randomBytes(2 << 20 + 3)))
            try await writer.truncate(to: Int64(kept.count))
            #expect(writer.writtenLength == Int64(kept.count))
            let tail = randomBytes(10_000)
            try await writer.append(ByteBuffer(bytes: tail))
            try await writer.finish()
            try await writer.close()
            #expect(try await contents(of: id, in: store) == kept + tail)
        }
    }
}
