import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// Every suite of this target, one test at a time: the large-blob test measures the process's
/// resident memory, which tests running beside it would inflate.
@Suite("Blob store", .serialized)
enum BlobStoreSuites {}

/// What the registry core relies on from a blob store, on every driver: the file system always,
/// object storage when REGISTRY_TEST_S3_* name a gateway.
extension BlobStoreSuites {
    @Suite("Blob store contract")
    struct BlobStoreContractTests {
        @Test(.enabled(if: BlobStoreDriver.s3IsConfigured, "\(BlobStoreDriver.s3SkipReason)"))
        func objectStorageDriverIsConfigured() {
            #expect(BlobStoreDriver.available.contains(.s3))
        }

        @Test(arguments: BlobStoreDriver.available)
        func writtenBlobReadsBackByteExact(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let bytes = Pattern(seed: 1).bytes(driver.partSize + 123_457)
                let digest = try await Blobs.store(bytes, in: store)
                #expect(try await store.size(of: digest) == Int64(bytes.count))
                let reader = try #require(try await store.open(digest))
                #expect(reader.size == Int64(bytes.count))
                #expect(try await Blobs.read(reader) == bytes)
                try await reader.close()
                #expect(try await store.open(DigestHasher.digest(of: [1, 2, 3])) == nil)
                #expect(try await store.size(of: DigestHasher.digest(of: [1, 2, 3])) == nil)
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func rangesReadTheRightBytesInChunksOfAtMostTheSizeAsked(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let bytes = Pattern(seed: 2).bytes(1_000_003)
                let digest = try await Blobs.store(bytes, in: store)
                let reader = try #require(try await store.open(digest))
                for (range, chunkSize) in [(0..<1, 1 << 20), (10..<1000, 7), (999_998..<1_000_003, 2), (12_345..<987_654, 65_536), (0..<1_000_003, 100_000)] {
                    let read = try await Blobs.read(reader, Int64(range.lowerBound)..<Int64(range.upperBound), chunkSize: chunkSize)
                    #expect(read == Array(bytes[range]), "range \(range)")
                }
                #expect(try await Blobs.read(reader, 5..<5).isEmpty)
                try await reader.close()
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func emptyBlobIsStoredAndReadAsNothing(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let digest = try await Blobs.store([], in: store)
                #expect(try await store.size(of: digest) == 0)
                #expect(try await Blobs.contents(of: digest, in: store) == [])
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func nothingIsVisibleUnderTheDigestBeforePlace(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let bytes = Pattern(seed: 3).bytes(driver.partSize * 2 + 10)
                let digest = DigestHasher.digest(of: bytes)
                let id = UploadID()
                try await Blobs.appendChunk(bytes, to: id, at: 0, in: store)
                #expect(try await store.length(of: id) == Int64(bytes.count))
                #expect(try await store.open(digest) == nil)
                #expect(try await store.size(of: digest) == nil)
                #expect(try await store.storedDigests().isEmpty)
                // A digest that did not match: the core removes the session without placing it.
                try await store.remove(id)
                #expect(try await store.storedDigests().isEmpty)
                #expect(try await store.length(of: id) == nil)
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func placeIsIdempotentAndConfirmPlacedRestoresARemovedBlob(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let bytes = Pattern(seed: 4).bytes(driver.partSize + 1)
                let digest = DigestHasher.digest(of: bytes)
                let id = UploadID()
                try await Blobs.appendChunk(bytes, to: id, at: 0, in: store)
                try await store.place(id, as: digest)
                try await store.place(id, as: digest)
                try await store.confirmPlaced(id, as: digest)
                #expect(try await Blobs.contents(of: digest, in: store) == bytes)
                // A collection removed the blob between place and the records' transaction.
                #expect(try await store.delete(digest))
                try await store.confirmPlaced(id, as: digest)
                #expect(try await Blobs.contents(of: digest, in: store) == bytes)
                try await store.remove(id)
                #expect(try await Blobs.contents(of: digest, in: store) == bytes)
            }
        }

        /// Chunks as a chunked push sends them, below and above the part size, through both write
        /// paths, with a chunk that fails half-way and is rolled back in the middle.
        @Test(arguments: BlobStoreDriver.available)
        func chunkedAppendsWithARollbackInTheMiddleGiveTheRightBlob(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let part = driver.partSize
                let sizes = [100_000, 700_000, part + 3, 1_500_000, part * 2 + 17, 5, part - 1, 3 * part]
                let pattern = Pattern(seed: 5).bytes(sizes.reduce(0, +))
                let id = UploadID()
                var length: Int64 = 0
                var expected: [UInt8] = []
                for (index, size) in sizes.enumerated() {
                    let chunk = Array(pattern[expected.count..<expected.count + size])
                    if index == 4 {
                        // A chunk whose client went away after 1.5 parts: the core cuts back.
                        let writer = try await store.openWriter(id, at: length)
                        for piece in Pattern(seed: 99).pieces(count: part + part / 2, pieceSize: 256 << 10) {
                            try await writer.append(piece)
                        }
                        try await writer.truncate(to: length)
                        try await writer.close()
                        #expect(try await store.length(of: id) == length)
                    }
                    if size < 1 << 20 {
                        try await store.writeDurably(ByteBuffer(bytes: chunk), to: id, at: length)
                        length += Int64(size)
                    } else {
                        length = try await Blobs.appendChunk(chunk, to: id, at: length, in: store, pieceSize: 300_000)
                    }
                    expected += chunk
                    #expect(try await store.length(of: id) == length, "after chunk \(index)")
                }
                #expect(try await Blobs.sessionContents(of: id, length: length, in: store) == expected)
                let digest = DigestHasher.digest(of: expected)
                try await store.place(id, as: digest)
                try await store.remove(id)
                #expect(try await Blobs.contents(of: digest, in: store) == expected)
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func writerTruncatedMidwayContinuesFromTheCut(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let part = driver.partSize
                let bytes = Pattern(seed: 6).bytes(part * 2 + 1000)
                let id = UploadID()
                let writer = try await store.openWriter(id, at: 0)
                try await writer.append(ByteBuffer(bytes: bytes[..<(part + 500)]))
                try await writer.finish()
                // Cut inside the first part, then go on with the same writer.
                try await writer.truncate(to: 1000)
                #expect(writer.writtenLength == 1000)
                try await writer.append(ByteBuffer(bytes: bytes[1000...]))
                try await writer.finish()
                try await writer.close()
                #expect(writer.writtenLength == Int64(bytes.count))
                #expect(try await store.length(of: id) == Int64(bytes.count))
                #expect(try await Blobs.sessionContents(of: id, length: Int64(bytes.count), in: store) == bytes)
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func cuttingInsideALargeWriteKeepsItsFirstBytes(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let part = driver.partSize
                let bytes = Pattern(seed: 11).bytes(part * 2 + 1000)
                let id = UploadID()
                try await Blobs.appendChunk(bytes, to: id, at: 0, in: store, pieceSize: 1 << 20)
                // Past one part: the object storage driver copies the kept bytes on the server.
                let keep = part + 10
                let writer = try await store.openWriter(id, at: Int64(bytes.count))
                try await writer.truncate(to: Int64(keep))
                try await writer.close()
                #expect(try await store.length(of: id) == Int64(keep))
                #expect(try await Blobs.sessionContents(of: id, length: Int64(keep), in: store) == Array(bytes[..<keep]))
                let length = try await Blobs.appendChunk(Array(bytes[keep...]), to: id, at: Int64(keep), in: store)
                #expect(try await Blobs.sessionContents(of: id, length: length, in: store) == bytes)
            }
        }

        /// A process that crashed in the middle of a write leaves its writer's data (on object
        /// storage, an unfinished multipart upload): the session is still listed, and removing
        /// it leaves nothing.
        @Test(arguments: BlobStoreDriver.available)
        func aWriteThatNeverFinishedIsListedAndRemoved(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let id = UploadID()
                let writer = try await store.openWriter(id, at: 0)
                for piece in Pattern(seed: 12).pieces(count: driver.partSize * 3 / 2, pieceSize: 1 << 20) {
                    try await writer.append(piece)
                }
                #expect(try await store.allSessions() == [id])
                try await store.remove(id)
                #expect(try await store.allSessions().isEmpty)
                #expect(try await store.length(of: id) == nil)
                try await writer.close()
            }
        }

        /// What a replica that did not see a session's start does: find its length, cut bytes past
        /// the committed length (a write that failed elsewhere), rebuild the hash by reading it
        /// back, and continue it; the first replica then sees the whole.
        @Test(arguments: BlobStoreDriver.available)
        func aSecondInstanceContinuesASessionAndReadsItBack(_ driver: BlobStoreDriver) async throws {
            try await driver.withStores(count: 2) { stores in
                let (first, second) = (stores[0], stores[1])
                let part = driver.partSize
                let bytes = Pattern(seed: 7).bytes(part * 3 + 4321)
                let id = UploadID()
                let committed = try await Blobs.appendChunk(Array(bytes[..<(part + 99)]), to: id, at: 0, in: first)
                // A chunk that reached storage but was never acknowledged.
                try await Blobs.appendChunk(Pattern(seed: 8).bytes(300_000), to: id, at: committed, in: first)

                #expect(try await second.length(of: id) == committed + 300_000)
                let writer = try await second.openWriter(id, at: committed)
                try await writer.truncate(to: committed)
                try await writer.close()
                #expect(try await second.length(of: id) == committed)
                let readBack = try await Blobs.sessionContents(of: id, length: committed, in: second)
                #expect(DigestHasher.digest(of: readBack) == DigestHasher.digest(of: bytes[..<Int(committed)]))

                try await second.writeDurably(ByteBuffer(bytes: bytes[Int(committed)..<Int(committed) + 1000]), to: id, at: committed)
                let length = try await Blobs.appendChunk(Array(bytes[(Int(committed) + 1000)...]), to: id, at: committed + 1000, in: second)
                #expect(try await first.length(of: id) == length)
                #expect(try await Blobs.sessionContents(of: id, length: length, in: first) == bytes)

                let digest = DigestHasher.digest(of: bytes)
                try await first.place(id, as: digest)
                try await second.confirmPlaced(id, as: digest)
                try await first.remove(id)
                #expect(try await Blobs.contents(of: digest, in: second) == bytes)
            }
        }

        /// The pull-through cache opens a reader on the session before anything is written, and
        /// reads what the writer has written so far.
        @Test(arguments: BlobStoreDriver.available)
        func aReaderOpenedBeforeTheDataSeesWhatIsWrittenLater(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let bytes = Pattern(seed: 9).bytes(driver.partSize + 777)
                let id = UploadID()
                let writer = try await store.openWriter(id, at: 0)
                let reader = try await store.openReader(id)
                try await writer.append(ByteBuffer(bytes: bytes))
                try await writer.finish()
                try await writer.close()
                #expect(writer.writtenLength == Int64(bytes.count))
                #expect(try await Blobs.read(reader, 0..<Int64(bytes.count)) == bytes)
                #expect(try await Blobs.read(reader, 10..<20) == Array(bytes[10..<20]))
                try await reader.close()
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func removeDeletesASessionsDataAndAllSessionsListsTheRest(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let (kept, removed, empty) = (UploadID(), UploadID(), UploadID())
                try await store.writeDurably(ByteBuffer(bytes: [1, 2, 3]), to: kept, at: 0)
                try await Blobs.appendChunk(Pattern(seed: 10).bytes(driver.partSize + 5), to: removed, at: 0, in: store)
                #expect(Set(try await store.allSessions()) == [kept, removed])
                try await store.remove(removed)
                try await store.remove(empty)
                #expect(try await store.length(of: removed) == nil)
                #expect(try await store.length(of: empty) == nil)
                #expect(try await store.allSessions() == [kept])
                #expect(try await store.length(of: kept) == 3)
                try await store.checkWritable()
                #expect(try await store.allSessions() == [kept])
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func deleteAndDisposeRemoveBlobsAndQuarantineMovesThemAside(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let digests = try await (0..<4).asyncMap { try await Blobs.store(Pattern(seed: 20 + UInt64($0)).bytes(1000 + $0), in: store) }
                #expect(try await store.delete(digests[0]))
                #expect(try await !store.delete(digests[0]))
                try await store.delete([digests[1], digests[0], DigestHasher.digest(of: [9])])
                try await store.dispose([BlobTombstone(digest: digests[2], quarantine: false), BlobTombstone(digest: digests[3], quarantine: true)])
                for digest in digests { #expect(try await store.open(digest) == nil) }
                #expect(try await store.storedDigests().isEmpty)

                let suspect = try await Blobs.store(Pattern(seed: 30).bytes(4096), in: store)
                #expect(try await store.quarantine(suspect))
                #expect(try await store.size(of: suspect) == nil)
                #expect(try await !store.quarantine(suspect))
                #expect(try await store.storedDigests().isEmpty)
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func storedDigestsListsEveryBlobAndFiltersByChangeTime(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                let digests = try await (0..<5).asyncMap { try await Blobs.store(Pattern(seed: 40 + UInt64($0)).bytes(100 * ($0 + 1)), in: store) }
                #expect(try await store.storedDigests() == digests.sorted())
                #expect(try await store.storedDigests(changedBefore: Date(timeIntervalSinceNow: 600)) == digests.sorted())
                #expect(try await store.storedDigests(changedBefore: Date(timeIntervalSinceNow: -600)).isEmpty)
            }
        }

        @Test(arguments: BlobStoreDriver.available)
        func storageIsWritableAndReportsSpace(_ driver: BlobStoreDriver) async throws {
            try await driver.withStore { store in
                try await store.checkWritable()
                let space = try await store.space()
                #expect(space.availableBytes > 0 && space.totalBytes >= space.availableBytes)
                #expect(try await store.allSessions().isEmpty)
            }
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
