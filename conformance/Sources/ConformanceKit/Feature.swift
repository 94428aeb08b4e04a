/// A feature of the spec: what a group of checks exercises, and the unit of the report's
/// compatibility matrix. Features whose checks depend on the digest algorithm exist once per
/// algorithm; the sha512 one is named `<name> (sha512)`.
public struct Feature: Sendable, Hashable {
    /// The feature's name without the algorithm, e.g. `blob pull`.
    public let baseName: String
    public let workflow: Workflow
    /// The first spec version that requires it.
    public let since: SpecVersion
    /// Set for features whose checks run once per digest algorithm.
    public let algorithm: DigestAlgorithm?

    init(_ baseName: String, _ workflow: Workflow, since: SpecVersion = .v1_1, algorithm: DigestAlgorithm? = nil) {
        self.baseName = baseName
        self.workflow = workflow
        self.since = since
        self.algorithm = algorithm
    }

    /// `blob pull`, or `blob pull (sha512)`.
    public var name: String {
        guard let algorithm, algorithm != .sha256 else { return baseName }
        return "\(baseName) (\(algorithm.rawValue))"
    }

    /// The same feature, checked with content digested by `algorithm`.
    func with(_ algorithm: DigestAlgorithm) -> Feature {
        Feature(baseName, workflow, since: since, algorithm: algorithm)
    }

    /// Whether `--feature filter` selects it: its exact name, its base name (both algorithms),
    /// `<base name> (sha256)` (that one only), a prefix ending at a colon (`blob push` selects
    /// `blob push: chunked`), or an algorithm (`sha512`).
    public func matches(_ filter: String) -> Bool {
        let filter = filter.lowercased()
        if let algorithm, filter == "\(baseName) (\(algorithm.rawValue))" { return true }
        return name == filter || baseName == filter || baseName.hasPrefix(filter + ":") || algorithm?.rawValue == filter
    }
}

extension Feature {
    static let base = Feature("base", .pull)
    static let manifestPull = Feature("manifest pull", .pull)
    static let blobPull = Feature("blob pull", .pull)
    static let blobRange = Feature("blob range", .pull)
    static let monolithicPush = Feature("blob push: monolithic", .push)
    static let chunkedPush = Feature("blob push: chunked", .push)
    static let digestVerification = Feature("blob push: digest verification", .push)
    static let digestAlgorithm = Feature("blob push: digest-algorithm", .push, since: .dev)
    static let uploadCancel = Feature("blob upload cancel", .push, since: .dev)
    static let blobMount = Feature("blob mount", .push)
    static let manifestPush = Feature("manifest push", .push)
    static let contentVariants = Feature("content variants", .push)
    static let multiTagPush = Feature("multi-tag push", .push, since: .dev)
    static let invalidReferences = Feature("invalid references", .pull)
    static let tagsList = Feature("tags list", .contentDiscovery)
    static let tagPaging = Feature("tag paging", .contentDiscovery)
    static let referrers = Feature("referrers", .contentDiscovery)
    static let contentManagement = Feature("content management", .contentManagement)
}
