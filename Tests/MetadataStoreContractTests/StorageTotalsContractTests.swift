import Foundation
import RegistryModel
import RegistryStorage
import Testing

/// The registry-wide figures of `/metrics` and the web UI, on every backend.
@Suite("Metadata store contract: storage totals")
struct StorageTotalsContractTests {
    @Test(arguments: MetadataBackend.available)
    func totalsCountEachBlobOnceAndSharingByItsExtraLinks(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            #expect(try await store.storageTotals() == StorageTotals(blobs: 0, bytes: 0, sharedBytesSaved: 0, uploadSessions: 0))
            let (app, base, tools) = (RepositoryName("team/app")!, RepositoryName("team/base")!, RepositoryName("team/tools")!)
            let (shared, own) = (DigestHasher.digest(of: [1]), DigestHasher.digest(of: [2]))
            try await store.addBlob(shared, size: 5_000_000_000, into: app)
            try await store.addBlob(own, size: 300, into: app)
            // Linked into two more repositories: stored once, two links' worth saved.
            #expect(try await store.mountBlob(shared, from: app, into: base))
            try await store.addBlob(shared, size: 5_000_000_000, into: tools)
            try await store.createUpload(UploadRecord(id: UploadID(), repository: app, createdAt: Date(), updatedAt: Date()))
            #expect(try await store.storageTotals() == StorageTotals(
                blobs: 2, bytes: 5_000_000_300, sharedBytesSaved: 10_000_000_000, uploadSessions: 1))

            #expect(try await store.unlinkBlob(shared, from: tools))
            #expect(try await store.storageTotals().sharedBytesSaved == 5_000_000_000)
        }
    }
}
