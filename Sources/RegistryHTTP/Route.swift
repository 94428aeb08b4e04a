import RegistryModel

/// The registry's endpoints, parsed from a request path.
///
/// Paths are parsed from the right: repository names may contain segments called `blobs`,
/// `manifests`, `tags`, `uploads` or `referrers`, but the endpoint suffix is always the last one
/// or two segments.
enum Route: Equatable {
    case base
    case catalog
    case health
    case ready
    case token
    case blob(name: String, digest: String)
    case startUpload(name: String)
    case upload(name: String, session: String)
    case manifest(name: String, reference: String)
    case tags(name: String)
    case referrers(name: String, digest: String)
    /// `/v2/_admin/gc`: run a garbage collection now.
    case collectGarbage
    /// `/v2/_admin/audit`: the audit log, paged.
    case audit
    /// `/v2/_admin/repositories/<name>`: delete a repository.
    case adminRepository(name: String)
    /// `/v2/_layers/<digest>`: the images that use a blob and what verifying it found (this
    /// program's extension, read by `registry inspect`).
    case layer(digest: String)
    /// `/` and `/ui/<page>`: the web UI (`page` empty for the repository list).
    case ui(page: String)

    init?(path: String) {
        switch path {
        case "/v2", "/v2/": self = .base; return
        case "/v2/_catalog": self = .catalog; return
        case "/healthz": self = .health; return
        case "/readyz": self = .ready; return
        case "/token": self = .token; return
        case "/v2/_admin/gc": self = .collectGarbage; return
        case "/v2/_admin/audit": self = .audit; return
        case "/": self = .ui(page: ""); return
        default: break
        }
        if path.hasPrefix("/ui/") {
            self = .ui(page: String(path.dropFirst(4)))
            return
        }
        // No repository name starts with `_`, so these never shadow a repository's endpoints.
        let adminRepositories = "/v2/_admin/repositories/"
        if path.hasPrefix(adminRepositories) {
            self = .adminRepository(name: PercentDecoding.decode(path.dropFirst(adminRepositories.count)))
            return
        }
        let layers = "/v2/_layers/"
        if path.hasPrefix(layers) {
            self = .layer(digest: PercentDecoding.decode(path.dropFirst(layers.count)))
            return
        }
        guard path.hasPrefix("/v2/") else { return nil }
        let segments = path.dropFirst(4).split(separator: "/", omittingEmptySubsequences: false)
            .map { PercentDecoding.decode($0) }
        let count = segments.count
        func name(dropping suffixCount: Int) -> String? {
            guard count > suffixCount else { return nil }
            return segments[..<(count - suffixCount)].joined(separator: "/")
        }
        if count >= 3, segments[count - 3] == "blobs", segments[count - 2] == "uploads", let name = name(dropping: 3) {
            self = segments[count - 1].isEmpty ? .startUpload(name: name) : .upload(name: name, session: segments[count - 1])
        } else if count >= 2, segments[count - 2] == "blobs", segments[count - 1] == "uploads", let name = name(dropping: 2) {
            self = .startUpload(name: name)
        } else if count >= 2, segments[count - 2] == "tags", segments[count - 1] == "list", let name = name(dropping: 2) {
            self = .tags(name: name)
        } else if count >= 2, let name = name(dropping: 2) {
            let last = segments[count - 1]
            switch segments[count - 2] {
            case "blobs": self = .blob(name: name, digest: last)
            case "manifests": self = .manifest(name: name, reference: last)
            case "referrers": self = .referrers(name: name, digest: last)
            default: return nil
            }
        } else {
            return nil
        }
    }
}
