/// Why a PostgreSQL metadata store cannot be opened as configured.
public enum PostgresMetadataError: Error, CustomStringConvertible, Equatable {
    case invalidURL(String)
    case invalidSchemaName(String)
    /// The database was migrated by a newer registry: this one does not know its tables and
    /// refuses to write to them.
    case schemaTooNew(found: Int, supported: Int)

    public var description: String {
        switch self {
        case .invalidURL(let why): "invalid PostgreSQL URL: \(why)"
        case .invalidSchemaName(let name):
            "invalid schema name \"\(name)\": lower-case letters, digits and _ only, not starting with a digit"
        case .schemaTooNew(let found, let supported):
            "the PostgreSQL metadata has schema version \(found), newer than this registry's \(supported): upgrade the registry"
        }
    }
}
