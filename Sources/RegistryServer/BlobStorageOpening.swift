import Foundation
import RegistryObjectStorage
import RegistryS3
import RegistryStorage
import SystemPackage

/// The blob bytes and upload data of a registry, on the driver its configuration names.
struct BlobStorage: Sendable {
    let blobs: any BlobStore
    let uploads: any UploadStore
    /// Ends the driver's connections, after the last request.
    let shutdown: @Sendable () async throws -> Void

    /// Opens the configured driver; `prepare` creates what a writable filesystem root needs.
    static func open(_ configuration: RegistryConfiguration, prepare: Bool) async throws -> BlobStorage {
        switch configuration.blobStorage.driver {
        case .filesystem:
            let files = FilesystemBlobStore(layout: StorageLayout(root: FilePath(configuration.root)))
            if prepare { try await files.prepare() }
            return BlobStorage(blobs: files, uploads: files, shutdown: {})
        case .s3:
            let store = try S3BlobStore(configuration: try objectStorage(configuration.blobStorage))
            return BlobStorage(blobs: store, uploads: store, shutdown: { try await store.shutdown() })
        }
    }

    /// The S3 settings, with the secret from `secret_key_file` when given. Validated at load:
    /// endpoint, bucket and credentials are present.
    static func objectStorage(_ settings: BlobStorageSettings) throws -> ObjectStorageConfiguration {
        var secret = settings.secretKey ?? ""
        if let file = settings.secretKeyFile {
            secret = try String(contentsOfFile: file, encoding: .utf8).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        let s3 = S3Configuration(
            endpoint: settings.endpoint ?? "", region: settings.region, bucket: settings.bucket ?? "", keyPrefix: settings.prefix,
            addressing: settings.pathStyle ? .pathStyle : .virtualHost,
            credentials: S3Credentials(accessKeyID: settings.accessKey ?? "", secretAccessKey: secret),
            caCertificateFile: settings.ca)
        return try ObjectStorageConfiguration(s3: s3, partSize: Int(settings.partSize))
    }
}
