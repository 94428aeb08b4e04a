import Foundation
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport

/// An upstream registry in token mode, the way Docker Hub works (user `mirror` may pull, user
/// `pusher` may push), and a registry that caches it under the prefix `hub/`.
struct ProxyFixture {
    let upstream: TestRegistry
    let upstreamLog: AccessLogRecorder
    let cache: TestRegistry
    let cacheRoot: String

    var cacheClient: RegistryClient { RegistryClient(registry: cache) }

    /// A client of the upstream holding a push token for `repository`.
    func pusher(for repository: String) async throws -> RegistryClient {
        var client = RegistryClient(registry: upstream)
        let (name, value) = AuthTests.basic("pusher", "pusher-pw")
        let reply = try await client.request(
            .GET, "/token?service=registry&scope=repository:\(repository):pull,push", headers: [(name, value)])
        guard reply.status == .ok, let token = try reply.json()["token"] as? String else {
            throw TestFailure("no push token: \(reply.status) \(reply.text)")
        }
        client.authorization = "Bearer \(token)"
        return client
    }

    /// Upstream GETs of blobs, manifests (by path suffix) so far.
    func upstreamGets(_ suffix: String) -> Int { upstreamLog.count("GET", pathEndingWith: suffix) }

    static func with<T>(
        revalidate: Duration = .seconds(300), configureCache: (inout RegistryConfiguration) -> Void = { _ in },
        _ body: (ProxyFixture) async throws -> T
    ) async throws -> T {
        let htpasswd = try TestUsers.htpasswd("mirror", "pusher")
        let log = AccessLogRecorder()
        // The realm names the upstream's port, which the OS picks: learn one, then serve on it
        // (again with another if a parallel test took it meanwhile).
        var started: TestRegistry?
        for _ in 0..<10 where started == nil {
            let probe = try await TestRegistry.start()
            let port = probe.port
            await probe.stop()
            started = try? await TestRegistry.start(logHandler: log.makeHandler()) {
                $0.htpasswd = htpasswd
                $0.tokenRealm = "http://127.0.0.1:\(port)/token"
                $0.port = port
                $0.gcInterval = nil
                $0.accessPolicy = AccessPolicy(rules: [
                    .init(repositories: RepositoryPattern("**"), users: ["pusher"], actions: [.pull, .push, .delete]),
                    .init(repositories: RepositoryPattern("**"), users: ["mirror"], actions: [.pull]),
                ])
            }
        }
        let upstream = try require(started, "the upstream did not start")
        let cacheRoot = try TestRegistry.makeTemporaryDirectory()
        let cache: TestRegistry
        do {
            cache = try await TestRegistry.start(root: cacheRoot, configure: {
                var proxy = ProxyConfiguration(name: "hub", url: upstream.baseURL)
                proxy.username = "mirror"
                proxy.password = "mirror-pw"
                proxy.libraryNamespace = true
                $0.proxies = [proxy]
                $0.proxyRevalidate = revalidate
                $0.gcInterval = nil
                configureCache(&$0)
            })
        } catch {
            await upstream.stop()
            throw error
        }
        let fixture = ProxyFixture(upstream: upstream, upstreamLog: log, cache: cache, cacheRoot: cacheRoot)
        do {
            let result = try await body(fixture)
            await cache.stop()
            await upstream.stop()
            return result
        } catch {
            await cache.stop()
            await upstream.stop()
            throw error
        }
    }
}

/// `#require` for a value outside a test function's own expectations.
func require<T>(_ value: T?, _ message: String = "missing value") throws -> T {
    guard let value else { throw TestFailure(message) }
    return value
}
