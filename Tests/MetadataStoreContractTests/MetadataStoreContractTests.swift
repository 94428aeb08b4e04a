import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// Repositories, blobs, manifests, tags and upload sessions: the ``MetadataStore`` contract, on
/// every backend.
@Suite("Metadata store contract")
struct MetadataStoreContractTests {
    private let repository = RepositoryName("team/app")!

    private func manifest(_ seed: UInt8, blobs: [Digest] = [], children: [Digest] = [], subject: Digest? = nil) -> NewManifest {
        let content = ByteBuffer(bytes: [seed])
        return NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: content,
            blobReferences: blobs, manifestReferences: children, subject: subject, artifactType: nil, annotations: nil)
    }

    @Test(arguments: MetadataBackend.available)
    func manifestWithMissingReferencesWritesNothing(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let blob = DigestHasher.digest(of: [1])
            let outcome = try await store.putManifest(manifest(9, blobs: [blob]), tag: Tag("v1"), in: repository)
            #expect(outcome == .missingReferences([blob]))
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == nil)
            try await store.addBlob(blob, size: 1, into: repository)
            #expect(try await store.putManifest(manifest(9, blobs: [blob]), tag: Tag("v1"), in: repository) == .stored)
            #expect(try await store.manifest(taggedAs: Tag("v1")!, in: repository)?.digest == DigestHasher.digest(of: [9]))
        }
    }

    @Test(arguments: MetadataBackend.available)
    func tagsPageInLexicalOrder(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            for (index, tag) in ["b", "a", "c", "B"].enumerated() {
                _ = try await store.putManifest(manifest(UInt8(index)), tag: Tag(tag), in: repository)
            }
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == ["B", "a", "b", "c"])
            #expect(try await store.tags(in: repository, after: "a", limit: 2) == ["b", "c"])
            #expect(try await store.tags(in: repository, after: nil, limit: 0) == [])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func uploadRecordsSurviveAndExpire(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let id = UploadID()
            let old = Date(timeIntervalSinceNow: -3600)
            try await store.createUpload(UploadRecord(id: id, repository: repository, createdAt: old, updatedAt: old))
            #expect(try await store.updateUpload(id, committedLength: 42, from: 0))
            #expect(try await store.upload(id)?.committedLength == 42)
            // A writer that saw an older length, or a session that is gone, changes nothing.
            #expect(try await store.updateUpload(id, committedLength: 50, from: 0) == false)
            #expect(try await store.upload(id)?.committedLength == 42)
            #expect(try await store.updateUpload(UploadID(), committedLength: 1, from: 0) == false)
            #expect(try await store.uploads(notUpdatedSince: Date(timeIntervalSinceNow: -60)).isEmpty)
            #expect(try await store.uploads(notUpdatedSince: Date(timeIntervalSinceNow: 60)).map(\.id) == [id])
            try await store.finishUpload(id, linking: DigestHasher.digest(of: [3]), size: 1, into: repository, storing: {})
            #expect(try await store.upload(id) == nil)
            #expect(try await store.blobSize(DigestHasher.digest(of: [3]), in: repository) == 1)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func concurrentWritersDoNotInterleaveTransactions(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func concurrentUploadFinishesCommitTogetherAndOneFailureStaysItsOwn(_ backend: MetadataBackend) async throws {
        struct DataNotStored: Error {}
        try await backend.withStore { store in
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

    @Test(arguments: MetadataBackend.available)
    func aFailedStatementInAGroupCommitFailsOnlyItsOwnWrite(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let taken = UploadID()
            try await store.createUpload(UploadRecord(id: taken, repository: repository, createdAt: Date(), updatedAt: Date()))
            // Concurrent session creations, one of them with an id already in use (a primary key
            // violation): the others are committed whether or not they shared its transaction.
            let ids = (0..<30).map { $0 == 11 ? taken : UploadID() }
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for (index, id) in ids.enumerated() {
                    group.addTask {
                        do {
                            try await store.createUpload(UploadRecord(id: id, repository: self.repository, createdAt: Date(), updatedAt: Date()))
                            return (index, true)
                        } catch {
                            return (index, false)
                        }
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            for (index, id) in ids.enumerated() {
                #expect(outcomes[index] == (index != 11))
                #expect(try await store.upload(id) != nil)
            }
        }
    }

    @Test(arguments: MetadataBackend.available)
    func mountingNeedsABlobTheSourceMayReadAndResetsTheLinksAge(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let blob = DigestHasher.digest(of: [5])
            let other = RepositoryName("team/other")!
            let third = RepositoryName("team/third")!
            #expect(try await store.mountBlob(blob, from: nil, into: other) == false)
            try await store.addBlob(blob, size: 5, into: repository)
            #expect(try await store.mountBlob(blob, from: third, into: other) == false)
            #expect(try await store.repositories(after: nil, limit: 10) == ["team/app"])
            #expect(try await store.mountBlob(blob, from: repository, into: other))
            #expect(try await store.blobSize(blob, in: other) == 5)
            #expect(try await store.mountBlob(blob, from: nil, into: third))
            #expect(try await store.repositories(after: nil, limit: 10) == ["team/app", "team/other", "team/third"])
            #expect(try await store.repositories(after: "team/app", limit: 1) == ["team/other"])
            #expect(try await store.unlinkBlob(blob, from: other))
            #expect(try await store.unlinkBlob(blob, from: other) == false)
            #expect(try await store.blobSize(blob, in: other) == nil)
            #expect(try await store.blobSize(blob) == 5)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func manifestsAreStoredByteExactAndDeletedWithTheirTags(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let bytes: [UInt8] = Array("{\"schemaVersion\":2}\u{0}\u{ff}".utf8) + [0, 255, 128]
            let digest = DigestHasher.digest(of: bytes)
            let image = NewManifest(
                digest: digest, mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: bytes),
                blobReferences: [], manifestReferences: [], subject: nil, artifactType: nil, annotations: nil)
            #expect(try await store.putManifest(image, tags: [Tag("a")!, Tag("b")!, Tag("a")!], in: repository) == .stored)
            // Stored again: nothing changes, the tags still point at it.
            #expect(try await store.putManifest(image, tags: [], in: repository) == .stored)
            let stored = try #require(try await store.manifest(digest, in: repository))
            #expect(Array(buffer: stored.content) == bytes)
            #expect(stored.mediaType == MediaType.ociManifest)
            #expect(try await store.manifest(digest, in: RepositoryName("team/other")!) == nil)
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == ["a", "b"])
            #expect(try await store.deleteTag(Tag("b")!, in: repository))
            #expect(try await store.deleteTag(Tag("b")!, in: repository) == false)
            #expect(try await store.deleteManifest(digest, in: repository))
            #expect(try await store.deleteManifest(digest, in: repository) == false)
            #expect(try await store.manifest(taggedAs: Tag("a")!, in: repository) == nil)
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == [])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func anIndexNeedsItsChildManifestsUnlessReferencesMayBeAbsent(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let child = manifest(1)
            #expect(try await store.putManifest(manifest(2, children: [child.digest]), tag: nil, in: repository)
                == .missingReferences([child.digest]))
            var proxied = manifest(3, blobs: [DigestHasher.digest(of: [42])], children: [child.digest])
            proxied.referencesMayBeAbsent = true
            #expect(try await store.putManifest(proxied, tag: Tag("cached"), in: repository) == .stored)
            _ = try await store.putManifest(child, tag: nil, in: repository)
            #expect(try await store.putManifest(manifest(2, children: [child.digest]), tag: nil, in: repository) == .stored)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func referrersAreListedBySubjectAndFilteredByArtifactType(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let subject = manifest(1)
            _ = try await store.putManifest(subject, tag: Tag("v1"), in: repository)
            var signature = manifest(2, subject: subject.digest)
            signature.artifactType = "application/vnd.example.signature"
            signature.annotations = ["org.example.signer": "alice", "é": "ü"]
            var sbom = manifest(3, subject: subject.digest)
            sbom.artifactType = "application/spdx+json"
            _ = try await store.putManifest(signature, tag: nil, in: repository)
            _ = try await store.putManifest(sbom, tag: nil, in: repository)

            let all = try await store.referrers(of: subject.digest, in: repository, artifactType: nil)
            #expect(all.map(\.digest) == [signature.digest, sbom.digest].sorted())
            let signatures = try await store.referrers(of: subject.digest, in: repository, artifactType: "application/vnd.example.signature")
            #expect(signatures == [Descriptor(
                mediaType: MediaType.ociManifest, digest: signature.digest, size: 1,
                artifactType: "application/vnd.example.signature", annotations: ["org.example.signer": "alice", "é": "ü"])])
            #expect(try await store.referrers(of: subject.digest, in: RepositoryName("team/other")!, artifactType: nil).isEmpty)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func deletingARepositoryRemovesItsRecordsButNotSharedBlobs(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let other = RepositoryName("team/other")!
            let blob = DigestHasher.digest(of: [7])
            try await store.addBlob(blob, size: 7, into: repository)
            try await store.addBlob(blob, size: 7, into: other)
            _ = try await store.putManifest(manifest(1, blobs: [blob]), tag: Tag("v1"), in: repository)
            #expect(try await store.deleteRepository(repository))
            #expect(try await store.deleteRepository(repository) == false)
            #expect(try await store.tags(in: repository, after: nil, limit: 10) == nil)
            #expect(try await store.manifest(manifest(1).digest, in: repository) == nil)
            #expect(try await store.blobSize(blob, in: repository) == nil)
            #expect(try await store.blobSize(blob, in: other) == 7)
            #expect(try await store.repositoryNames() == [other])
        }
    }

    @Test(arguments: MetadataBackend.available)
    func aRepositorysLinksAndManifestGraphAreListedForCopying(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            let other = RepositoryName("team/other")!
            let (layer, unused, elsewhere) = (DigestHasher.digest(of: [7]), DigestHasher.digest(of: [8]), DigestHasher.digest(of: [9]))
            try await store.addBlob(layer, size: 7, into: repository)
            try await store.addBlob(unused, size: 8, into: repository)
            try await store.addBlob(elsewhere, size: 9, into: other)
            let (first, second) = (manifest(1, blobs: [layer]), manifest(2))
            let index = manifest(3, children: [second.digest, first.digest])
            let signature = manifest(4, subject: index.digest)
            for record in [first, second, index, signature] { _ = try await store.putManifest(record, tag: nil, in: repository) }

            #expect(try await store.linkedBlobs(in: repository) == [BlobRecord(digest: layer, size: 7), BlobRecord(digest: unused, size: 8)].sorted { $0.digest < $1.digest })
            let expected = [
                ManifestRecord(digest: first.digest, childManifests: [], subject: nil),
                ManifestRecord(digest: second.digest, childManifests: [], subject: nil),
                ManifestRecord(digest: index.digest, childManifests: [first.digest, second.digest].sorted(), subject: nil),
                ManifestRecord(digest: signature.digest, childManifests: [], subject: index.digest),
            ].sorted { $0.digest < $1.digest }
            #expect(try await store.manifestRecords(in: repository) == expected)
            #expect(try await store.manifestRecords(in: other).isEmpty)
            #expect(try await store.linkedBlobs(in: RepositoryName("team/none")!).isEmpty)
        }
    }

    @Test(arguments: MetadataBackend.available)
    func aStoreIsReachableWhileOpen(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.checkReachable()
        }
    }
}
