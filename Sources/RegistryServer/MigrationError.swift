/// Why `registry migrate` refused to start or stopped.
public enum MigrationError: Error, CustomStringConvertible, Equatable {
    /// `--from-root` names a directory without a registry database.
    case noRegistryDatabase(root: String, expected: String)
    /// The destination configuration keeps its database or blobs under the source root.
    case sameRoot(String)
    /// The run stopped on purpose after copying this many blobs (``ClusterMigration/Options/stopAfterCopiedBlobs``),
    /// leaving the destination as a killed run would.
    case stopped(afterCopiedBlobs: Int)

    public var description: String {
        switch self {
        case .noRegistryDatabase(let root, let expected):
            "\(root) is not a registry root: it has no registry database (\(expected))"
        case .sameRoot(let root):
            "the destination configuration uses \(root), the root being migrated: name another root, or a PostgreSQL database and an S3 bucket"
        case .stopped(let count):
            "stopped after copying \(count) blob(s), as asked; run again to finish"
        }
    }
}
