import RegistryModel
import RegistryStorage
import RegistryUpstream

/// What every part of the pull-through cache shares: refusing writes, the upstream's health, errors.
extension Registry {
    /// Refuses writes to a pull-through cache's namespace: its content is the upstream's.
    func requireNotProxied(_ repository: RepositoryName) throws(RegistryError) {
        guard let route = proxy?.route(for: repository) else { return }
        throw RegistryError(
            .unsupported,
            message: "\(route.upstream.name)/ is a read-only cache of \(route.upstream.client.baseURL); push to another repository",
            detail: ["name": repository.value])
    }

    /// Runs `body` against the upstream unless it failed moments ago, and notes whether it answered.
    func withUpstream<T: Sendable>(_ route: ProxyRoute, _ body: () async throws -> T) async throws -> T {
        let cache = route.cache
        guard !cache.isUnavailable(route.upstream) else { throw UpstreamError.unreachable(url: route.upstream.client.baseURL) }
        do {
            let result = try await body()
            cache.markAvailable(route.upstream)
            return result
        } catch {
            if Self.upstreamIsUnavailable(error) {
                cache.markUnavailable(route.upstream)
                metrics.upstreamFailed()
            } else if error is UpstreamError {
                metrics.upstreamFailed()
            }
            throw error
        }
    }

    /// ``withUpstream(_:_:)`` for content with nothing cached to fall back on: its failures
    /// become the client's OCI errors (`UNAVAILABLE`, `DENIED`, `DIGEST_INVALID`).
    func fromUpstream<T: Sendable>(_ route: ProxyRoute, _ body: () async throws -> T) async throws -> T {
        do {
            return try await withUpstream(route, body)
        } catch let error where Self.upstreamIsUnavailable(error) {
            throw Self.unavailable(route, error)
        } catch let error as UpstreamError {
            throw Self.upstreamFailed(route, error)
        }
    }

    // MARK: Errors

    /// Whether the cache should stand in for the upstream: it cannot be reached, or answers
    /// with a server error or "too many requests".
    static func upstreamIsUnavailable(_ error: any Error) -> Bool {
        switch error {
        case let error as UpstreamError:
            switch error {
            case .status(let status, _, _, _): return status >= 500 || status == 429
            case .unreachable: return true
            default: return false
            }
        case is RegistryError:
            return false
        default:
            // Connection refused, reset, timed out, TLS failures: the transport's own errors.
            // A full disk while storing what the upstream sent is ours, not the upstream's.
            return !isStorageFull(error)
        }
    }

    static func unavailable(_ route: ProxyRoute, _ error: any Error) -> RegistryError {
        RegistryError(
            .unavailable, message: "the upstream \(route.upstream.client.baseURL) is unavailable and the content is not cached",
            detail: ["upstream": route.upstream.client.baseURL, "reason": "\(error)"])
    }

    static func upstreamFailed(_ route: ProxyRoute, _ error: any Error) -> any Error {
        guard let upstream = error as? UpstreamError else { return error }
        switch upstream {
        case .digestMismatch(let expected, let actual):
            return RegistryError(
                .digestInvalid, message: "the upstream served content that does not match its digest; nothing was stored",
                detail: ["digest": expected.description, "computed": actual.description, "upstream": route.upstream.client.baseURL])
        case .unauthorized(_, let reason):
            return RegistryError(.denied, message: "the upstream refused access: \(reason)", detail: ["upstream": route.upstream.client.baseURL])
        default:
            return RegistryError(.unavailable, message: "the upstream failed: \(upstream)", detail: ["upstream": route.upstream.client.baseURL])
        }
    }
}
