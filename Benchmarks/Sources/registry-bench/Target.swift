/// `http://HOST:PORT/PATH?QUERY`: where a subcommand sends its requests. Plain HTTP only: the
/// benchmarks run on loopback.
struct Target: Sendable {
    var host: String
    var port: Int
    /// Path and query, starting with `/`.
    var path: String

    init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    init(_ url: String) throws {
        guard url.hasPrefix("http://") else { throw BenchFailure("\(url): only http:// URLs are measured") }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) else {
            throw BenchFailure("\(url): give the port explicitly")
        }
        host = String(authority[..<colon])
        self.port = port
    }

    var hostHeader: String { "\(host):\(port)" }

    /// `location` as a path on this target: registries answer absolute or relative `Location`s.
    func path(ofLocation location: String) -> String {
        guard location.hasPrefix("http://") || location.hasPrefix("https://") else { return location }
        let afterScheme = location.drop { $0 != "/" }.dropFirst(2)
        return String(afterScheme.drop { $0 != "/" })
    }
}
