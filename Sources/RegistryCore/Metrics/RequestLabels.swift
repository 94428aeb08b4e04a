/// The bounded label values of the request metrics. Every label a request can produce is one of
/// these cases, whatever the client sends, so that the number of series stays fixed.

/// Which endpoint a request was for, by kind (never by repository).
public enum RequestRoute: String, Sendable, CaseIterable {
    case base, blob, upload, manifest, tags, catalog, referrers, token, admin, health, metrics, other

    /// Classifies a request path (without its query) by its last segments, as the router does,
    /// without allocating: the repository name in front may contain any of these words.
    public init(path: String) {
        switch path {
        case "/v2", "/v2/": self = .base; return
        case "/v2/_catalog": self = .catalog; return
        case "/healthz", "/readyz": self = .health; return
        case "/token": self = .token; return
        case "/metrics": self = .metrics; return
        default: break
        }
        let utf8 = path.utf8
        guard utf8.starts(with: "/v2/".utf8) else { self = .other; return }
        if utf8.dropFirst(4).starts(with: "_admin/".utf8) { self = .admin; return }
        // The last three segments, right to left: slices of the path, nothing copied.
        var rest = Substring(path).utf8.dropFirst(3)
        func nextSegment() -> Substring.UTF8View? {
            guard let slash = rest.lastIndex(of: UInt8(ascii: "/")) else { return nil }
            defer { rest = rest[..<slash] }
            return rest[rest.index(after: slash)...]
        }
        let last = nextSegment(), previous = nextSegment(), third = nextSegment()
        func equals(_ view: Substring.UTF8View?, _ word: StaticString) -> Bool {
            guard let view else { return false }
            return word.withUTF8Buffer { view.elementsEqual($0) }
        }
        if equals(previous, "uploads") && equals(third, "blobs") {
            self = .upload
        } else if equals(last, "uploads") && equals(previous, "blobs") {
            self = .upload
        } else if equals(previous, "blobs") {
            self = .blob
        } else if equals(previous, "manifests") {
            self = .manifest
        } else if equals(previous, "tags") && equals(last, "list") {
            self = .tags
        } else if equals(previous, "referrers") {
            self = .referrers
        } else {
            self = .other
        }
    }
}

/// A request's method, as a label; anything unusual is `other`.
public enum RequestMethod: String, Sendable, CaseIterable {
    case GET, HEAD, POST, PUT, PATCH, DELETE, other

    public init(_ method: String) {
        self = RequestMethod(rawValue: method) ?? .other
    }
}

/// A response status's class: `2xx` for 200 to 299, and so on.
public enum StatusClass: String, Sendable, CaseIterable {
    case informational = "1xx", success = "2xx", redirection = "3xx", clientError = "4xx", serverError = "5xx"

    public init(code: Int) {
        switch code {
        case ..<200: self = .informational
        case 200..<300: self = .success
        case 300..<400: self = .redirection
        case 400..<500: self = .clientError
        default: self = .serverError
        }
    }
}
