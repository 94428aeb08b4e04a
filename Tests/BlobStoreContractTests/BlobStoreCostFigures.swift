import Foundation
import NIOCore
import PseudoRandomBytes
import RegistryModel
import RegistryObjectStorage
import RegistryStorage
import Testing

/// Not a timed test: prints what pushing a large blob costs through each driver, when asked with
/// `REGISTRY_BLOBSTORE_FIGURES=1`; the object-storage driver with each part size and number of
/// PUTs in flight of `REGISTRY_BLOBSTORE_FIGURES_PARTS` (`8x2,16x2` by default: MiB x in flight).
extension BlobStoreSuites {
    @Suite("Blob store cost figures", .serialized)
    struct BlobStoreCostFigures {
        static let environment = ProcessInfo.processInfo.environment
        static let enabled = environment["REGISTRY_BLOBSTORE_FIGURES"] == "1"
        static let mebibyte = 1 << 20
        static let blobMiB = Int(environment["REGISTRY_BLOBSTORE_FIGURES_MIB"] ?? "") ?? 256

        static var variants: [(partMiB: Int, inFlight: Int)] {
            (environment["REGISTRY_BLOBSTORE_FIGURES_PARTS"] ?? "8x2,16x2").split(separator: ",").compactMap {
                let fields = $0.split(separator: "x").compactMap { Int($0) }
                return fields.count == 2 ? (fields[0], fields[1]) : nil
            }
        }

        @Test(.enabled(if: enabled, "set REGISTRY_BLOBSTORE_FIGURES=1 to print the figures"), arguments: BlobStoreDriver.available)
        func printCostOfPushingALargeBlob(_ driver: BlobStoreDriver) async throws {
            switch driver {
            case .filesystem:
                try await driver.withStore { try await Self.measure($0, label: "filesystem") }
            case .s3:
                for variant in Self.variants {
                    let s3 = BlobStoreDriver.s3Configuration(prefix: "figures-\(UUID().uuidString.lowercased())/")
                    let store = try S3BlobStore(configuration: try ObjectStorageConfiguration(
                        s3: s3, partSize: variant.partMiB * Self.mebibyte, partsInFlight: variant.inFlight))
                    do {
                        try await Self.measure(store, label: "s3 part \(variant.partMiB) MiB x \(variant.inFlight) in flight")
                    } catch {
                        try? await store.shutdown()
                        throw error
                    }
                    try await store.shutdown()
                }
            }
        }

        private static func measure(_ store: any StoreUnderTest, label: String) async throws {
            let size = blobMiB * mebibyte
            let pieceSize = 256 << 10
            // The same piece over and over, and a made-up digest (the store checks neither): the
            // figures are the store's costs, not the test's making and hashing of bytes.
            var generator = PseudoRandomBytes(seed: 1)
            let piece = generator.buffer(pieceSize)
            let digest = DigestHasher.digest(of: Array(label.utf8))
            // One stream: a monolithic push, or a single PATCH.
            let streamed = UploadID()
            let streamWrite = try await seconds {
                let writer = try await store.openWriter(streamed, at: 0)
                for _ in 0..<(size / pieceSize) { try await writer.append(piece) }
                try await writer.finish()
                try await writer.close()
            }
            let streamPlace = try await seconds { try await store.place(streamed, as: digest) }

            // 8 MiB chunks, each its own request: open a writer at the session's end, append, finish.
            let chunked = UploadID()
            let chunkSize = 8 * mebibyte
            let chunkedWrite = try await seconds {
                var length: Int64 = 0
                for _ in 0..<(size / chunkSize) {
                    let writer = try await store.openWriter(chunked, at: length)
                    for _ in 0..<(chunkSize / pieceSize) { try await writer.append(piece) }
                    try await writer.finish()
                    try await writer.close()
                    length += Int64(chunkSize)
                }
            }
            try await store.delete(digest)
            let chunkedPlace = try await seconds { try await store.place(chunked, as: digest) }
            #expect(try await store.size(of: digest) == Int64(size))

            // A chunk landing on a replica that has not seen the session: the length from the
            // store, and the hash rebuilt by reading the data back.
            var rebuilds: [String] = []
            for mebibytes in [8, 64, blobMiB] where mebibytes <= blobMiB {
                let elapsed = try await seconds {
                    _ = try await store.length(of: chunked)
                    let reader = try await store.openReader(chunked)
                    var rehash = DigestHasher(algorithm: .sha256)
                    for try await chunk in reader.chunks(in: 0..<Int64(mebibytes * mebibyte), chunkSize: mebibyte) {
                        chunk.withUnsafeReadableBytes { rehash.update(bufferPointer: $0) }
                    }
                    _ = rehash.finalize()
                    try await reader.close()
                }
                rebuilds.append(String(format: "%d MiB %.2f s", mebibytes, elapsed))
            }
            let small = try await seconds {
                for index in 0..<20 {
                    try await store.writeDurably(ByteBuffer(repeating: UInt8(index), count: 100_000), to: chunked, at: Int64(size + index * 100_000))
                }
            } / 20

            try await store.remove(streamed)
            try await store.remove(chunked)
            try await store.delete(digest)
            let rate = { (seconds: Double) in Double(size) / Double(mebibyte) / seconds }
            print(String(
                format: "blob store figures [%@] %d MiB: one stream %.2f s (%.0f MiB/s) + place %.2f s; 8 MiB chunks %.2f s (%.0f MiB/s) + place %.2f s; 100 kB chunk %.0f ms; rebuild on a new replica: %@",
                label, blobMiB, streamWrite, rate(streamWrite), streamPlace, chunkedWrite, rate(chunkedWrite), chunkedPlace,
                small * 1000, rebuilds.joined(separator: ", ")))
        }

        private static func seconds(_ body: () async throws -> Void) async throws -> Double {
            let elapsed = try await ContinuousClock().measure { try await body() }
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
    }
}
