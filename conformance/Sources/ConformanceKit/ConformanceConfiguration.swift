/// What the checker is pointed at and which checks it runs.
public struct ConformanceConfiguration: Sendable {
    /// The registry's base URL, e.g. `http://127.0.0.1:5000`.
    public var baseURL: String
    /// Repository the checks push to and pull from.
    public var repository: String
    /// Second repository, the source of cross-repository mounts.
    public var mountSourceRepository: String
    public var credentials: Credentials?
    public var workflows: Set<Workflow>
    /// The spec version whose features are checked.
    public var spec: SpecVersion
    /// Feature filters (`Feature.matches`); empty runs every feature of `spec`.
    public var features: [String]
    /// Set for a read-only run: check this existing content instead of pushing any.
    public var readOnly: ReadOnlyContent?

    public enum Credentials: Sendable {
        case basic(username: String, password: String)
        case bearer(token: String)
    }

    /// Content that already exists in `repository`, for a run that must not write.
    public struct ReadOnlyContent: Sendable {
        public var tags: [String]
        public var digests: [String]

        public init(tags: [String], digests: [String] = []) {
            self.tags = tags
            self.digests = digests
        }
    }

    public init(
        baseURL: String, repository: String = "conformance/main", mountSourceRepository: String = "conformance/mount-source",
        credentials: Credentials? = nil, workflows: Set<Workflow> = Set(Workflow.allCases), spec: SpecVersion = .v1_1,
        features: [String] = [], readOnly: ReadOnlyContent? = nil
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.repository = repository
        self.mountSourceRepository = mountSourceRepository
        self.credentials = credentials
        self.workflows = workflows
        self.spec = spec
        self.features = features
        self.readOnly = readOnly
    }
}

/// The distribution-spec's workflow categories; every feature belongs to one.
public enum Workflow: String, Sendable, CaseIterable, Comparable {
    case pull
    case push
    case contentDiscovery = "content-discovery"
    case contentManagement = "content-management"

    public static func < (lhs: Workflow, rhs: Workflow) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
