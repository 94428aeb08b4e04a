import NIOHTTP1
import RegistryCore

extension Route {
    /// The rate-limit class of a request to this endpoint; nil for the probes (`/healthz`,
    /// `/readyz`), which are never limited, lest an orchestrator restart a busy registry.
    func requestClass(for method: HTTPMethod) -> RequestClass? {
        let reads = method == .GET || method == .HEAD
        let writes = method == .POST || method == .PATCH || method == .PUT
        switch self {
        case .health, .ready: return nil
        case .blob, .tags, .referrers: return reads ? .pull : .other
        case .manifest: return reads ? .pull : writes ? .push : .other
        case .startUpload, .upload: return writes ? .push : .other
        default: return .other
        }
    }
}
