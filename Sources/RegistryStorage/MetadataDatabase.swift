/// A database the registry's metadata lives in (SQLite on one machine, PostgreSQL for several
/// replicas): every operation of the registry, its maintenance and its cache budget, plus the
/// counter ``Metadata`` uses to notice writes made by other processes.
///
/// Nothing but ``Metadata`` holds one: it is the single owner of the registry's metadata, so
/// that its read cache sees every write made through it.
public protocol MetadataDatabase: MetadataStore, MetadataMaintenance, CacheEvictionStore, ExclusiveJobs, EventOutbox, StorageTotalsSource,
    AuditLogStore, RobotAccountStore, ImageCatalogStore {
    /// A number that moves whenever any process commits a write to the database.
    func changeCounter() async throws -> Int64
    /// The schema version this binary writes; opening a database migrates it to this one and
    /// refuses a newer one.
    static var schemaVersion: Int { get }
}

extension SQLiteMetadataStore: MetadataDatabase {
    public static var schemaVersion: Int { SQLiteSchema.version }
}
