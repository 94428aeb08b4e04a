import Foundation
import Logging
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

@Suite("SQLite metadata store")
struct SQLiteMetadataStoreTests {
    private func withStore(_ body: (SQLiteMetadataStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metadata-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try await SQLiteMetadataStore.open(path: directory + "/metadata.sqlite", logger: Logger(label: "test"))
        do {
            try await body(store)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    private let repository = RepositoryName("team/app")!

    private func manifest(_ seed: UInt8, blobs: [Digest] = [], children: [Digest] = [], subject: Digest? = nil) -> NewManifest {
        let content = ByteBuffer(bytes: [seed])
        return NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: content,
            blobReferences: blobs, manifestReferences: children, subject: subject, artifactType: nil, annotations: nil)
    }

    @Test func manifestWithMissingReferencesWritesNothing() async throws {
        try await withStore { store in
            let blob = DigestHasher.digest(of: [1])
            let outcome = try await store.putManifest(manifest(9, blobs: [blob]), tag: Tag("v1"), in: repository)
            #expect(outcome == .missingReferences([blob]))
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == nil)
            try await store.addBlob(blob, size: 1, into: repository)
            #expect(try await store.putManifest(manifest(9, blobs: [blob]), tag: Tag("v1"), in: repository) == .stored)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == DigestHasher.digest(of: [9]))
        }
    }

    @Test func tagsPageInLexicalOrder() async throws {
        try await withStore { store in
            for (index, tag) in ["b", "a", "c", "B"].enumerated() {
                _ = try await store.putManifest(manifest(UInt8(index)), tag: Tag(tag), in: repository)
            }
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == ["B", "a", "b", "c"])
            #expect(try await store.tags(in: repository, after: "a", limit: 2) == ["b", "c"])
            #expect(try await store.tags(in: repository, after: nil, limit: 0) == [])
        }
    }

    @Test func uploadRecordsSurviveAndExpire() async throws {
        try await withStore { store in
            let id = UploadID()
            let old = Date(timeIntervalSinceNow: -3600)
            try await store.createUpload(UploadRecord(id: id, repository: repository, createdAt: old, updatedAt: old))
            try await store.updateUpload(id, committedLength: 42)
            #expect(try await store.upload(id)?.committedLength == 42)
            #expect(try await store.uploads(notUpdatedSince: Date(timeIntervalSinceNow: -60)).isEmpty)
            #expect(try await store.uploads(notUpdatedSince: Date(timeIntervalSinceNow: 60)).map(\.id) == [id])
            try await store.finishUpload(id, linking: DigestHasher.digest(of: [3]), size: 1, into: repository, storing: {})
            #expect(try await store.upload(id) == nil)
            #expect(try await store.blobSize(DigestHasher.digest(of: [3]), in: repository) == 1)
        }
    }

    @Test func concurrentWritersDoNotInterleaveTransactions() async throws {
        try await withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let blob = DigestHasher.digest(of: [UInt8(index), 1])
                        try await store.addBlob(blob, size: 2, into: self.repository)
                        let outcome = try await store.putManifest(
                            self.manifest(UInt8(index), blobs: [blob]), tag: Tag("t\(index)"), in: self.repository)
                        #expect(outcome == .stored)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.tags(in: repository, after: nil, limit: 100)?.count == 50)
        }
    }

    @Test func concurrentUploadFinishesCommitTogetherAndOneFailureStaysItsOwn() async throws {
        struct DataNotStored: Error {}
        try await withStore { store in
            let uploads = (0..<40).map { index in (id: UploadID(), digest: DigestHasher.digest(of: [UInt8(index)])) }
            for upload in uploads {
                try await store.createUpload(UploadRecord(id: upload.id, repository: repository, createdAt: Date(), updatedAt: Date()))
            }
            let failing = 17
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for (index, upload) in uploads.enumerated() {
                    group.addTask {
                        do {
                            try await store.finishUpload(upload.id, linking: upload.digest, size: 1, into: self.repository) {
                                if index == failing { throw DataNotStored() }
                            }
                            return (index, true)
                        } catch {
                            return (index, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            for (index, upload) in uploads.enumerated() {
                #expect(outcomes[index] == (index != failing))
                let recorded = try await store.blobSize(upload.digest, in: repository)
                #expect((recorded != nil) == (index != failing))
                // The failed finish left its session in place, for the client to retry.
                #expect((try await store.upload(upload.id) != nil) == (index == failing))
            }
        }
    }
}
