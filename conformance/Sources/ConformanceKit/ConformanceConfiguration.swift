/// What the checker is pointed at and which workflows it runs.
public struct ConformanceConfiguration: Sendable {
    /// The registry's base URL, e.g. `http://127.0.0.1:5000`.
    public var baseURL: String
    /// Repository the checks push to and pull from.
    public var repository: String
    /// Second repository, the source of cross-repository mounts.
    public var mountSourceRepository: String
    public var credentials: Credentials?
    public var workflows: Set<Workflow>

    public enum Credentials: Sendable {
        case basic(username: String, password: String)
        case bearer(token: String)
    }

    public init(
        baseURL: String, repository: String = "conformance/main", mountSourceRepository: String = "conformance/mount-source",
        credentials: Credentials? = nil, workflows: Set<Workflow> = Set(Workflow.allCases)
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.repository = repository
        self.mountSourceRepository = mountSourceRepository
        self.credentials = credentials
        self.workflows = workflows
    }
}

/// The distribution-spec's workflow categories.
public enum Workflow: String, Sendable, CaseIterable, Comparable {
    case pull
    case push
    case contentDiscovery = "content-discovery"
    case contentManagement = "content-management"

    public static func < (lhs: Workflow, rhs: Workflow) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
