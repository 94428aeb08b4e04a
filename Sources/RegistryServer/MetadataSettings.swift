/// `metadata.*`: which database holds the registry's metadata.
public struct MetadataSettings: Sendable, Equatable {
    public enum Driver: String, Sendable {
        /// `<root>/metadata.sqlite`: one machine, nothing to set up.
        case sqlite
        /// A PostgreSQL database shared by every replica.
        case postgres
    }

    /// How the PostgreSQL connection is encrypted (libpq's `sslmode` values).
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var driver = Driver.sqlite
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DATABASE`; a password here is overridden by
    /// ``password`` and ``passwordFile``, which keep it out of the file that holds the URL.
    public var url: String?
    public var password: String?
    /// A file whose first line is the password (a mounted secret).
    public var passwordFile: String?
    /// Connections each process keeps open at most.
    public var poolSize = 8
    public var tls: TLSMode?
    /// A PostgreSQL schema of its own (created if missing), so that several registries can
    /// share one database; nil: the database's default (`public`).
    public var schema: String?

    public init() {}
}
