import AsyncHTTPClient
import Foundation
import NIOHTTP1
import NIOSSL
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Logins and per-repository rights")
struct AuthTests {
    static func basic(_ user: String, _ password: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }

    static let alice = basic("alice", "alice-pw")   // may push to team/**
    static let bob = basic("bob", "bob-pw")         // reader: pull only on team/**

    /// A registry with an htpasswd file and rules: alice pushes to team/**, bob reads it,
    /// nobody else has rights there; elsewhere every signed-in user may pull and push.
    private func withSecuredRegistry(
        anonymousPull: Bool = false, _ body: (RegistryClient) async throws -> Void
    ) async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob", "carol")
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(
                groups: ["readers": ["bob"]],
                rules: [
                    .init(repositories: RepositoryPattern("team/**"), users: ["alice"], actions: [.pull, .push]),
                    .init(repositories: RepositoryPattern("team/**"), groups: ["readers"], actions: [.pull]),
                ],
                defaultActions: [.pull, .push],
                anonymousPull: anonymousPull)
        }, body)
    }

    @Test func baseEndpointChallengesAnonymousClientsSoThatDockerLoginWorks() async throws {
        try await withSecuredRegistry { client in
            let anonymous = try await client.request(.GET, "/v2/")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.errorCode == "UNAUTHORIZED")
            #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Basic realm=") == true)
            #expect(try await client.request(.GET, "/v2/", headers: [Self.alice]).status == .ok)
            let wrong = try await client.request(.GET, "/v2/", headers: [Self.basic("alice", "guess")])
            #expect(wrong.status == .unauthorized)
            let unknownUser = try await client.request(.GET, "/v2/", headers: [Self.basic("eve", "alice-pw")])
            #expect(unknownUser.status == .unauthorized)
            let garbage = try await client.request(.GET, "/v2/", headers: [("Authorization", "Basic !!!")])
            #expect(garbage.status == .unauthorized)
            #expect(try await client.request(.GET, "/healthz").status == .ok)
        }
    }

    @Test func pullOnlyUserCannotPushAndNothingIsWritten() async throws {
        try await withSecuredRegistry { client in
            let bytes = RegistryClient.randomBytes(1000)
            let digest = RegistryClient.digest(bytes)
            let denied = try await client.request(.POST, "/v2/team/app/blobs/uploads/?digest=\(digest)", headers: [Self.bob], body: bytes)
            #expect(denied.status == .forbidden)
            #expect(denied.errorCode == "DENIED")
            let manifest = try await client.request(
                .PUT, "/v2/team/app/manifests/v1", headers: [Self.bob, ("Content-Type", MediaType.ociManifest)], body: Array("{}".utf8))
            #expect(manifest.status == .forbidden)
            #expect(try FileManager.default.contentsOfDirectory(atPath: client.registry.root + "/uploads").isEmpty)
            #expect(try await client.request(.HEAD, "/v2/team/app/blobs/\(digest)", headers: [Self.alice]).status == .notFound)

            let pushed = try await client.request(.POST, "/v2/team/app/blobs/uploads/?digest=\(digest)", headers: [Self.alice], body: bytes)
            #expect(pushed.status == .created)
            #expect(try await client.request(.GET, "/v2/team/app/blobs/\(digest)", headers: [Self.bob]).bytes == bytes)
            let stranger = try await client.request(.GET, "/v2/team/app/blobs/\(digest)", headers: [Self.basic("carol", "carol-pw")])
            #expect(stranger.status == .forbidden)
            let deleted = try await client.request(.DELETE, "/v2/team/app/blobs/\(digest)", headers: [Self.alice])
            #expect(deleted.status == .forbidden)
        }
    }

    @Test func anonymousClientsMayPullOnlyWhenEnabled() async throws {
        try await withSecuredRegistry { client in
            let status = try await client.request(.GET, "/v2/open/app/tags/list").status
            #expect(status == .unauthorized)
        }
        try await withSecuredRegistry(anonymousPull: true) { client in
            let digest = try await client.request(
                .POST, "/v2/open/app/blobs/uploads/?digest=\(RegistryClient.digest([7]))", headers: [Self.alice], body: [7])
            #expect(digest.status == .created)
            #expect(try await client.request(.GET, "/v2/open/app/blobs/\(RegistryClient.digest([7]))").bytes == [7])
            // Empty Basic credentials (what containers/image sends when it has none) are anonymous.
            let empty = try await client.request(.GET, "/v2/open/app/blobs/\(RegistryClient.digest([7]))", headers: [Self.basic("", "")])
            #expect(empty.status == .ok)
            let push = try await client.request(.POST, "/v2/open/app/blobs/uploads/")
            #expect(push.status == .unauthorized)
            #expect(try await client.request(.GET, "/v2/").status == .unauthorized)
        }
    }

    @Test func catalogListsOnlyRepositoriesTheCallerMayPull() async throws {
        try await withSecuredRegistry { client in
            for repository in ["team/a", "team/b", "zeta/c"] {
                _ = try await client.request(.POST, "/v2/\(repository)/blobs/uploads/?digest=\(RegistryClient.digest([1]))", headers: [Self.alice], body: [1])
            }
            let carol = try await client.request(.GET, "/v2/_catalog", headers: [Self.basic("carol", "carol-pw")])
            #expect(try carol.json()["repositories"] as? [String] == ["zeta/c"])
            let alice = try await client.request(.GET, "/v2/_catalog?n=2", headers: [Self.alice])
            #expect(try alice.json()["repositories"] as? [String] == ["team/a", "team/b"])
            #expect(alice.header("Link") != nil)
            #expect(try await client.request(.GET, "/v2/_catalog").status == .unauthorized)
        }
    }

    @Test func mountingNeedsPullOnTheSourceRepository() async throws {
        try await withSecuredRegistry { client in
            let digest = RegistryClient.digest([9, 9])
            _ = try await client.request(.POST, "/v2/team/secret/blobs/uploads/?digest=\(digest)", headers: [Self.alice], body: [9, 9])
            let carol = Self.basic("carol", "carol-pw")
            let fromSecret = try await client.request(.POST, "/v2/carol/app/blobs/uploads/?mount=\(digest)&from=team/secret", headers: [carol])
            #expect(fromSecret.status == .accepted)
            let anywhere = try await client.request(.POST, "/v2/carol/app/blobs/uploads/?mount=\(digest)", headers: [carol])
            #expect(anywhere.status == .accepted)
            #expect(try await client.request(.HEAD, "/v2/carol/app/blobs/\(digest)", headers: [carol]).status == .notFound)
            let allowed = try await client.request(.POST, "/v2/team/other/blobs/uploads/?mount=\(digest)&from=team/secret", headers: [Self.alice])
            #expect(allowed.status == .created)
        }
    }

    @Test func cancellingAnUploadNeedsPushNotDelete() async throws {
        try await withSecuredRegistry { client in
            let location = try #require(try await client.request(.POST, "/v2/team/app/blobs/uploads/", headers: [Self.alice]).header("Location"))
            #expect(try await client.request(.DELETE, location, headers: [Self.bob]).status == .forbidden)
            #expect(try await client.request(.DELETE, location, headers: [Self.alice]).status == .noContent)
        }
    }

    @Test func failedLoginsAreRateLimitedPerClientAndUser() async throws {
        try await withSecuredRegistry { client in
            for _ in 0..<5 {
                #expect(try await client.request(.GET, "/v2/", headers: [Self.basic("alice", "guess")]).status == .unauthorized)
            }
            let limited = try await client.request(.GET, "/v2/", headers: [Self.alice])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "TOOMANYREQUESTS")
            #expect(limited.header("Retry-After") != nil)
            #expect(try await client.request(.GET, "/v2/", headers: [Self.bob]).status == .ok)
        }
    }

    @Test func encodedAndDottedPathsCannotSlipPastTheRules() async throws {
        try await withSecuredRegistry { client in
            let carol = Self.basic("carol", "carol-pw")
            #expect(try await client.request(.GET, "/v2/team%2Fapp/tags/list", headers: [carol]).status == .forbidden)
            let dotted = try await client.request(.GET, "/v2/carol/../team/app/tags/list", headers: [carol])
            #expect(dotted.status == .badRequest || dotted.status == .notFound)
            #expect(try await client.request(.GET, "/v2/TEAM/app/tags/list", headers: [carol]).status == .badRequest)
        }
    }

    @Test func clientCertificateNameIsTheUser() async throws {
        let server = try CertificateAuthority.issue(hosts: ["127.0.0.1"], clients: ["alice", "carol"], into: try TestRegistry.makeTemporaryDirectory())
        let registry = try await TestRegistry.start(configure: {
            $0.tlsCertificate = server.serverCertificate
            $0.tlsKey = server.serverKey
            $0.tlsClientCA = server.caCertificate
            $0.accessPolicy = AccessPolicy(
                rules: [.init(repositories: RepositoryPattern("team/**"), users: ["alice"], actions: [.pull, .push])],
                defaultActions: [.pull])
        })
        func status(as name: String?) async throws -> HTTPResponseStatus {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(server.caCertificate)
            if let name, let files = server.clients[name] {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: files.key, format: .pem))
            }
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            defer { _ = http.shutdown(queue: .global()) { _ in } }
            var request = HTTPClientRequest(url: registry.baseURL + "/v2/team/app/blobs/uploads/")
            request.method = .POST
            return try await http.execute(request, timeout: .seconds(10)).status
        }
        let alice = try await status(as: "alice")
        let carol = try await status(as: "carol")
        let nobody = try await status(as: nil)
        await registry.stop()
        #expect(alice == .accepted)
        #expect(carol == .forbidden)
        #expect(nobody == .unauthorized)
    }
}
