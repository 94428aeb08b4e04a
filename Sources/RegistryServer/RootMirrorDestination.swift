import Foundation
import Logging
import NIOCore
import RegistryCore
import RegistryMirror
import RegistryModel
import RegistryStorage
import SystemPackage

/// `registry mirror ... --root DIR`: copies straight into a storage root, through the same
/// registry semantics a push goes through (digests verified, manifests validated), safe while a
/// `registry serve` uses the root.
public final class RootMirrorDestination: MirrorDestination {
    let registry: Registry
    /// The database ``open(root:repository:logger:)`` opened, which ``close()`` closes; nil
    /// for a registry someone else opened.
    let database: Metadata?
    let repository: RepositoryName
    private static let anyManifest = AcceptedMediaTypes(headerLines: [String]())

    private init(registry: Registry, database: Metadata?, repository: RepositoryName) {
        self.registry = registry
        self.database = database
        self.repository = repository
    }

    /// Opens (creating if needed) the root at `path`; call ``close()`` when done.
    public static func open(root path: String, repository: RepositoryName, logger: Logger) async throws -> RootMirrorDestination {
        let layout = StorageLayout(root: FilePath(path))
        let files = FilesystemBlobStore(layout: layout)
        try await files.prepare()
        let database = Metadata(database: try await SQLiteMetadataStore.open(path: layout.metadataDatabase.string, readerCount: 1, logger: logger))
        let registry = Registry(metadata: database, blobs: files, uploads: files, options: RegistryOptions(), logger: logger)
        return RootMirrorDestination(registry: registry, database: database, repository: repository)
    }

    public func close() async throws {
        try await database?.close()
    }

    /// Writes through a registry opened elsewhere (which stays its opener's to close).
    convenience init(registry: Registry, repository: RepositoryName) {
        self.init(registry: registry, database: nil, repository: repository)
    }

    public var description: String { "\(repository) (local root)" }

    public func manifestDigest(_ tag: Tag) async throws -> Digest? {
        do {
            return try await registry.manifest(.tag(tag), in: repository, accepting: Self.anyManifest).digest
        } catch let error as RegistryError where error.code == .manifestUnknown {
            return nil
        }
    }

    public func hasManifest(_ digest: Digest) async throws -> Bool {
        do {
            _ = try await registry.manifest(.digest(digest), in: repository, accepting: Self.anyManifest)
            return true
        } catch let error as RegistryError where error.code == .manifestUnknown {
            return false
        }
    }

    public func hasBlob(_ digest: Digest) async throws -> Bool {
        do {
            _ = try await registry.blobSize(digest, in: repository)
            return true
        } catch let error as RegistryError where error.code == .blobUnknown {
            return false
        }
    }

    /// Any repository of the root that stores the blob lends it: no bytes move.
    public func mountBlob(_ digest: Digest) async throws -> Bool {
        try await registry.mountBlob(digest, from: nil, into: repository)
    }

    public func pushBlob<Body: AsyncSequence & Sendable>(_ digest: Digest, length: Int64, body: Body) async throws
    where Body.Element == ByteBuffer {
        _ = try await registry.uploadMonolithic(body, digest: digest, in: repository)
    }

    public func putManifest(_ bytes: [UInt8], mediaType: String, as reference: Reference) async throws {
        _ = try await registry.putManifest(ByteBuffer(bytes: bytes), contentType: mediaType, reference: reference, in: repository)
    }
}
