import RegistryModel

/// Where a repository lives: `[http://|https://]HOST[:PORT]/REPO`. Without a scheme, a loopback
/// host means plain HTTP and anything else HTTPS, as docker decides. Docker Hub's short names
/// (`docker.io/alpine`) become `registry-1.docker.io/library/alpine`.
public struct UpstreamAddress: Sendable, Equatable, CustomStringConvertible {
    /// `http(s)://host[:port]`, no trailing slash.
    public var baseURL: String
    public var repository: RepositoryName

    public init(baseURL: String, repository: RepositoryName) {
        self.baseURL = baseURL
        self.repository = repository
    }

    public init(parsing text: String) throws(UpstreamError) {
        var rest = Substring(text)
        var scheme: String?
        for candidate in ["http://", "https://"] where rest.hasPrefix(candidate) {
            scheme = String(candidate.dropLast(3))
            rest = rest.dropFirst(candidate.count)
        }
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else {
            throw .invalidAddress(text, reason: "expected HOST[:PORT]/REPOSITORY")
        }
        var host = String(rest[..<slash]).lowercased()
        var name = String(rest[rest.index(after: slash)...])
        if ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(host) {
            host = "registry-1.docker.io"
            if !name.contains("/") { name = "library/" + name }
        }
        guard let repository = RepositoryName(name) else {
            throw .invalidAddress(text, reason: "\(name) is not a valid repository name")
        }
        self.baseURL = "\(scheme ?? (Self.isLoopback(host) ? "http" : "https"))://\(host)"
        self.repository = repository
    }

    public var description: String { "\(baseURL)/\(repository)" }

    /// `localhost`, `127.0.0.0/8` and `[::1]`, with or without a port.
    static func isLoopback(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("[") {
            return name.hasPrefix("[::1]")
        }
        if let colon = name.lastIndex(of: ":") { name = name[..<colon] }
        return name == "localhost" || name.hasPrefix("127.")
    }
}
