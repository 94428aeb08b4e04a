import Foundation
import NIOSSL
import PostgresNIO

/// Where and how ``PostgresMetadataStore`` connects: a server, a database, optionally a schema
/// inside it, the pool's size and the transport's security.
public struct PostgresMetadataConfiguration: Sendable {
    /// Whether the connection is encrypted, with libpq's meaning of each `sslmode`.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, plain otherwise; the certificate is not verified.
        case prefer
        /// TLS or no connection; the certificate is not verified (encryption only).
        case require
        /// TLS with the certificate verified against the system's trust roots (or
        /// ``PostgresMetadataConfiguration/caCertificatePath``) and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// Tables live in this schema (created if missing) instead of the user's default
    /// (`search_path`), so that several registries or test runs can share one database.
    /// Lower-case letters, digits and `_` only.
    public var schema: String?
    public var tls: TLSMode
    /// PEM file of the certificate authorities trusted with ``TLSMode/verifyFull``.
    public var caCertificatePath: String?
    /// Connections the pool opens at most. Writers queue in the process first (one at a time
    /// holds the database's write lock), so most of these serve reads.
    public var maximumConnections: Int
    public var connectTimeout: Duration

    public init(
        host: String, port: Int = 5432, username: String, password: String?, database: String,
        schema: String? = nil, tls: TLSMode = .prefer, caCertificatePath: String? = nil,
        maximumConnections: Int = 8, connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls
        self.caCertificatePath = caCertificatePath
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
    }

    /// Reads `postgres://user:password@host:port/database?sslmode=require` (or `postgresql://`;
    /// user and password percent-encoded). `password`, when given, replaces the URL's (the
    /// caller reads it from a file or the environment, to keep it out of configuration files);
    /// `tls`, when given, replaces the URL's `sslmode` (default `prefer`, as libpq).
    public init(url: String, password: String? = nil, tls: TLSMode? = nil, schema: String? = nil) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme.lowercased())
        else { throw PostgresMetadataError.invalidURL("expected postgres://user:password@host:port/database") }
        guard let host = components.host, !host.isEmpty else { throw PostgresMetadataError.invalidURL("no host") }
        guard let username = components.percentEncodedUser?.removingPercentEncoding, !username.isEmpty else {
            throw PostgresMetadataError.invalidURL("no user name")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw PostgresMetadataError.invalidURL("no database") }
        var mode = TLSMode.prefer
        if let sslmode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard let parsed = TLSMode(rawValue: sslmode) else {
                throw PostgresMetadataError.invalidURL("sslmode \(sslmode) is not one of disable, prefer, require, verify-full")
            }
            mode = parsed
        }
        self.init(
            host: host, port: components.port ?? 5432, username: username,
            password: password ?? components.percentEncodedPassword?.removingPercentEncoding,
            database: database.removingPercentEncoding ?? database, schema: schema, tls: tls ?? mode)
    }

    // MARK: What postgres-nio is given

    /// The pool's configuration. The schema goes in the start-up message (`search_path`), so
    /// every connection of the pool resolves the tables there.
    func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: try clientTLS())
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = try startupParameters()
        return configuration
    }

    /// The single connection that checks and migrates the schema at open: it fails at once
    /// with the server's reason (a pool would retry quietly).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch self.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
        case .require, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        configuration.options.additionalStartupParameters = try startupParameters()
        return configuration
    }

    private func clientTLS() throws -> PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(try tlsConfiguration())
        case .require, .verifyFull: .require(try tlsConfiguration())
        }
    }

    private func tlsConfiguration() throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if tls == .verifyFull {
            if let caCertificatePath {
                configuration.trustRoots = .file(caCertificatePath)
            }
        } else {
            configuration.certificateVerification = .none
        }
        return configuration
    }

    private func startupParameters() throws -> [(String, String)] {
        guard let schema else { return [] }
        try Self.validate(schema: schema)
        return [("search_path", schema)]
    }

    /// Schema names are put into SQL and the start-up message as they are: only plain ones.
    static func validate(schema: String) throws {
        guard !schema.isEmpty, schema.utf8.count <= 63,
              schema.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }),
              !(48...57).contains(schema.utf8.first!)
        else { throw PostgresMetadataError.invalidSchemaName(schema) }
    }
}
