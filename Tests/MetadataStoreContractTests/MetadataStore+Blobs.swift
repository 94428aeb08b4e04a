import Foundation
import RegistryModel
import RegistryStorage

extension MetadataStore {
    /// Records `digest` as uploaded into `repository`, the way a finished upload does (the data
    /// itself is not the metadata store's business).
    func addBlob(_ digest: Digest, size: Int64, into repository: RepositoryName) async throws {
        let id = UploadID()
        try await createUpload(UploadRecord(id: id, repository: repository, createdAt: Date(), updatedAt: Date()))
        try await finishUpload(id, linking: digest, size: size, into: repository, storing: {})
    }
}
