import Foundation
import Logging
import RegistryPostgres
import RegistryStorage
import SystemPackage

/// Opens the registry's ``Metadata`` on the database the configuration names, migrating its
/// schema to this binary's version (and refusing one newer than it knows).
enum MetadataOpening {
    /// `readerCount`: SQLite's reader threads (the server's default, or 1 for a command).
    static func open(
        _ configuration: RegistryConfiguration, readOnly: Bool = false, readerCount: Int = 3, logger: Logger
    ) async throws -> Metadata {
        Metadata(database: try await database(configuration, readOnly: readOnly, readerCount: readerCount, logger: logger))
    }

    /// The database itself, for `registry migrate-schema`.
    static func database(
        _ configuration: RegistryConfiguration, readOnly: Bool = false, readerCount: Int = 3, logger: Logger
    ) async throws -> any MetadataDatabase {
        switch configuration.metadata.driver {
        case .sqlite:
            let layout = StorageLayout(root: FilePath(configuration.root))
            return try await SQLiteMetadataStore.open(
                path: layout.metadataDatabase.string, readOnly: readOnly, readerCount: readerCount, logger: logger)
        case .postgres:
            return try await PostgresMetadataStore.open(configuration: try postgres(configuration.metadata), logger: logger)
        }
    }

    /// The PostgreSQL settings: the URL, with the password from `password_file` or `password`
    /// (`REGISTRY_METADATA_PASSWORD`) when given.
    static func postgres(_ settings: MetadataSettings) throws -> PostgresMetadataConfiguration {
        guard let url = settings.url else {
            throw ConfigurationError.invalidValue(key: "metadata.url", value: "", expected: "a postgres:// URL when metadata.driver is postgres")
        }
        var password = settings.password
        if let file = settings.passwordFile {
            let contents = try String(contentsOfFile: file, encoding: .utf8)
            password = contents.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        var configuration = try PostgresMetadataConfiguration(
            url: url, password: password, tls: settings.tls.flatMap { PostgresMetadataConfiguration.TLSMode(rawValue: $0.rawValue) },
            schema: settings.schema)
        configuration.maximumConnections = settings.poolSize
        return configuration
    }
}
