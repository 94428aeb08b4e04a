import Foundation
import NIOCore
import PseudoRandomBytes
import RegistryModel
import RegistryObjectStorage
import RegistryStorage
import Testing

#if os(Linux)
/// glibc's: gives the memory free in the heap back to the system.
@_silgen_name("malloc_trim")
private func malloc_trim(_ pad: Int) -> Int32
#endif

/// Blobs far larger than any buffer may be: they stream through every driver in bounded memory.
extension BlobStoreSuites {
    @Suite("Blob store large blobs", .serialized)
    struct LargeBlobTests {
        static let mebibyte = 1 << 20
        /// Well over the memory growth allowed, so that a whole-blob buffer anywhere fails the
        /// test; the allowance leaves room for the suites that run beside this one in the process.
        static let blobSize = 320 * mebibyte
        static let allowedGrowth = 192 * mebibyte

        @Test(arguments: BlobStoreDriver.available)
        func aLargeBlobStreamsInAndOutInBoundedMemory(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let peak = try await ResidentMemory.peakGrowth {
                    let id = UploadID()
                    var hasher = DigestHasher(algorithm: .sha256)
                    var generator = PseudoRandomBytes(seed: 77)
                    let writer = try await store.openWriter(id, at: 0)
                    var written = 0
                    while written < Self.blobSize {
                        let piece = generator.buffer(256 << 10)
                        piece.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                        try await writer.append(piece)
                        written += piece.readableBytes
                    }
                    try await writer.finish()
                    try await writer.close()
                    let digest = hasher.finalize()
                    try await store.place(id, as: digest)
                    try await store.remove(id)

                    let reader = try #require(try await store.open(digest))
                    #expect(reader.size == Int64(Self.blobSize))
                    var readHasher = DigestHasher(algorithm: .sha256)
                    var largest = 0
                    for try await chunk in reader.chunks(in: 0..<reader.size, chunkSize: Self.mebibyte) {
                        largest = max(largest, chunk.readableBytes)
                        chunk.withUnsafeReadableBytes { readHasher.update(bufferPointer: $0) }
                    }
                    try await reader.close()
                    #expect(readHasher.finalize() == digest)
                    #expect(largest <= Self.mebibyte)
                    #expect(try await store.delete(digest))
                }
                print("\(driver): resident memory grew by \(peak >> 20) MiB while a \(Self.blobSize >> 20) MiB blob went in and out")
                #expect(peak < Self.allowedGrowth, "resident memory grew by \(peak >> 20) MiB for a \(Self.blobSize >> 20) MiB blob")
            }
        }
    }
}

/// The process's resident memory, sampled from /proc while work runs.
enum ResidentMemory {
    static func current() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return kibibytes << 10
    }

    /// Runs `body` while sampling resident memory every 10 ms; returns the largest growth over
    /// what it was before.
    static func peakGrowth(_ body: () async throws -> Void) async throws -> Int {
        #if os(Linux)
        // Freed memory the allocator kept from earlier tests would hide growth below it.
        _ = malloc_trim(0)
        #endif
        let baseline = current()
        let peak = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                var peak = current()
                while !Task.isCancelled {
                    peak = max(peak, current())
                    try? await Task.sleep(for: .milliseconds(10))
                }
                return peak
            }
            do {
                try await body()
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            return try await group.next() ?? 0
        }
        return max(peak, current()) - baseline
    }
}
