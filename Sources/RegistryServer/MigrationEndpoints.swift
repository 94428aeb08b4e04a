import Foundation
import Logging
import RegistryCore
import RegistryStorage
import SystemPackage

/// The two ends of `registry migrate`: the single-node root it reads (files and SQLite), and
/// the registry a configuration names (PostgreSQL and S3, or any other drivers), written
/// through the same ``Registry`` semantics a push goes through.
struct MigrationEndpoints: Sendable {
    let source: RootMaintenance
    let destination: Registry
    let destinationMetadata: Metadata
    let destinationStorage: BlobStorage

    /// Opens both ends. Refuses a source without a registry database and a destination that
    /// would write into the source root itself.
    static func open(fromRoot root: String, to configuration: RegistryConfiguration, logger: Logger) async throws -> MigrationEndpoints {
        var sourceConfiguration = RegistryConfiguration()
        sourceConfiguration.root = root
        let database = StorageLayout(root: FilePath(root)).metadataDatabase.string
        guard FileManager.default.fileExists(atPath: database) else { throw MigrationError.noRegistryDatabase(root: root, expected: database) }
        if sharesRoot(configuration, with: root) { throw MigrationError.sameRoot(root) }

        if configuration.metadata.driver == .sqlite || configuration.blobStorage.driver == .filesystem {
            try FileManager.default.createDirectory(atPath: configuration.root, withIntermediateDirectories: true)
        }
        let source = try await RootMaintenance.open(sourceConfiguration, logger: logger)
        let storage: BlobStorage
        do {
            storage = try await BlobStorage.open(configuration, prepare: true)
        } catch {
            try? await source.close()
            throw error
        }
        let metadata: Metadata
        do {
            metadata = try await MetadataOpening.open(configuration, readerCount: 1, logger: logger)
        } catch {
            try? await storage.shutdown()
            try? await source.close()
            throw error
        }
        // `storage.read_only` keeps clients from writing (an operator may set it on the cluster
        // until the migration is done); the migration itself must write.
        var options = configuration.registryOptions
        options.readOnly = false
        let registry = Registry(metadata: metadata, blobs: storage.blobs, uploads: storage.uploads, options: options, logger: logger)
        return MigrationEndpoints(source: source, destination: registry, destinationMetadata: metadata, destinationStorage: storage)
    }

    /// Closes both ends, reporting the first failure after trying every close.
    func close() async throws {
        var failure: (any Error)?
        for close in [source.close, destinationMetadata.close, destinationStorage.shutdown] {
            do { try await close() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Whether the destination keeps its database or its blobs under the source root.
    static func sharesRoot(_ configuration: RegistryConfiguration, with root: String) -> Bool {
        guard configuration.metadata.driver == .sqlite || configuration.blobStorage.driver == .filesystem else { return false }
        return canonicalPath(configuration.root) == canonicalPath(root)
    }

    private static func canonicalPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
