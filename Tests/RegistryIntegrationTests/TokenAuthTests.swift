import Crypto
import Foundation
import JWTKit
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("Token authentication")
struct TokenAuthTests {
    /// alice may push to team/**, bob may only pull there; token mode with a 2 s lifetime.
    private func withTokenRegistry(lifetime: Duration = .seconds(300), _ body: (RegistryClient) async throws -> Void) async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.tokenRealm = "http://127.0.0.1/token"
            $0.tokenLifetime = lifetime
            $0.accessPolicy = AccessPolicy(rules: [
                .init(repositories: RepositoryPattern("team/**"), users: ["alice"], actions: [.pull, .push]),
                .init(repositories: RepositoryPattern("team/**"), users: ["bob"], actions: [.pull]),
            ])
        }, body)
    }

    private func token(_ client: RegistryClient, user: String?, password: String? = nil, scope: String, offline: Bool = false) async throws -> RegistryClient.Reply {
        var headers: [(String, String)] = []
        if let user { headers.append(AuthTests.basic(user, password ?? "\(user)-pw")) }
        let query = "service=registry&scope=\(scope)" + (offline ? "&offline_token=true" : "")
        return try await client.request(.GET, "/token?\(query)", headers: headers)
    }

    private func bearer(_ reply: RegistryClient.Reply) throws -> (String, String) {
        ("Authorization", "Bearer " + (try reply.json()["token"] as? String ?? ""))
    }

    @Test func challengesCarryRealmServiceAndScope() async throws {
        try await withTokenRegistry { client in
            let base = try await client.request(.GET, "/v2/")
            #expect(base.status == .unauthorized)
            #expect(base.header("WWW-Authenticate") == #"Bearer realm="http://127.0.0.1/token",service="registry""#)
            let push = try await client.request(.POST, "/v2/team/app/blobs/uploads/")
            #expect(push.header("WWW-Authenticate")?.contains(#"scope="repository:team/app:pull,push""#) == true)
            let basic = try await client.request(.GET, "/v2/", headers: [AuthTests.alice])
            #expect(basic.status == .unauthorized)
        }
    }

    @Test func tokenGrantsWhatWasAskedAndAllowedOnly() async throws {
        try await withTokenRegistry { client in
            let alice = try bearer(try await token(client, user: "alice", scope: "repository:team/app:pull,push"))
            #expect(try await client.request(.GET, "/v2/", headers: [alice]).status == .ok)
            #expect(try await client.request(.POST, "/v2/team/app/blobs/uploads/", headers: [alice]).status == .accepted)
            // A token for team/app says nothing about team/other.
            let other = try await client.request(.POST, "/v2/team/other/blobs/uploads/", headers: [alice])
            #expect(other.status == .unauthorized)
            #expect(other.header("WWW-Authenticate")?.contains(#"error="insufficient_scope""#) == true)

            // Scope escalation: bob asks for push and gets a token without it.
            let bobReply = try await token(client, user: "bob", scope: "repository:team/app:pull,push")
            let access = try #require(try bobReply.json()["token"] as? String).split(separator: ".")[1]
            let padded = String(access).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                + String(repeating: "=", count: (4 - access.count % 4) % 4)
            let claims = try #require(try JSONSerialization.jsonObject(with: Data(base64Encoded: padded)!) as? [String: Any])
            let granted = try #require(claims["access"] as? [[String: Any]])
            #expect(granted.first?["actions"] as? [String] == ["pull"])
            let bob = try bearer(bobReply)
            #expect(try await client.request(.POST, "/v2/team/app/blobs/uploads/", headers: [bob]).status == .unauthorized)
            #expect(try await client.request(.GET, "/v2/team/app/tags/list", headers: [bob]).status == .notFound)
        }
    }

    @Test func wrongPasswordsGetNoToken() async throws {
        try await withTokenRegistry { client in
            let reply = try await token(client, user: "alice", password: "guess", scope: "repository:team/app:pull")
            #expect(reply.status == .unauthorized)
            let unknown = try await token(client, user: "eve", password: "x", scope: "repository:team/app:pull")
            #expect(unknown.status == .unauthorized)
        }
    }

    @Test func expiredTokensAreRefused() async throws {
        // Expiry times are whole seconds, so a token lives between 4 and 5 s here: long enough for
        // the first request even when the machine is busy with other tests (2-3 s was not, once).
        try await withTokenRegistry(lifetime: .seconds(5)) { client in
            let alice = try bearer(try await token(client, user: "alice", scope: "repository:team/app:pull"))
            #expect(try await client.request(.GET, "/v2/", headers: [alice]).status == .ok)
            try await Task.sleep(for: .milliseconds(6200))
            let expired = try await client.request(.GET, "/v2/", headers: [alice])
            #expect(expired.status == .unauthorized)
            #expect(expired.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
        }
    }

    @Test func forgedTokensAreRefused() async throws {
        try await withTokenRegistry { client in
            let genuine = try #require(try await token(client, user: "alice", scope: "repository:team/app:pull,push").json()["token"] as? String)
            let parts = genuine.split(separator: ".").map(String.init)
            func base64url(_ data: Data) -> String {
                data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
            }
            let now = Int(Date().timeIntervalSince1970)
            let escalated = base64url(Data(#"{"iss":"registry-token-issuer","sub":"alice","aud":"registry","exp":\#(now + 300),"nbf":\#(now - 10),"iat":\#(now),"jti":"x","access":[{"type":"repository","name":"team/other","actions":["pull","push"]}]}"#.utf8))

            // Tampered payload, genuine signature.
            let tampered = [parts[0], escalated, parts[2]].joined(separator: ".")
            // alg: none.
            let noneHeader = base64url(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
            let unsigned = [noneHeader, escalated, ""].joined(separator: ".")
            // Signed by a key the registry does not know.
            let foreignKeys = JWTKeyCollection()
            await foreignKeys.add(ecdsa: ES256PrivateKey(), kid: JWKIdentifier(string: "registry"))
            let header = base64url(Data(#"{"alg":"ES256","typ":"JWT","kid":"registry"}"#.utf8))
            let foreignSignature = try P256.Signing.PrivateKey().signature(for: Data("\(header).\(escalated)".utf8)).rawRepresentation
            let foreign = [header, escalated, base64url(foreignSignature)].joined(separator: ".")

            for forged in [tampered, unsigned, foreign, "not-a-jwt", genuine + "x"] {
                let reply = try await client.request(.POST, "/v2/team/other/blobs/uploads/", headers: [("Authorization", "Bearer \(forged)")])
                #expect(reply.status == .unauthorized, "\(forged.prefix(40))")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: client.registry.root + "/uploads").isEmpty)
        }
    }

    @Test func refreshAndPasswordGrantsOfThePostForm() async throws {
        try await withTokenRegistry { client in
            let offline = try await token(client, user: "alice", scope: "repository:team/app:pull", offline: true)
            let refresh = try #require(try offline.json()["refresh_token"] as? String)
            // A refresh token is not an access token.
            #expect(try await client.request(.GET, "/v2/", headers: [("Authorization", "Bearer \(refresh)")]).status == .unauthorized)
            let form = "grant_type=refresh_token&service=registry&scope=repository%3Ateam%2Fapp%3Apull%2Cpush&refresh_token=\(refresh)"
            let renewed = try await client.request(
                .POST, "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8))
            #expect(renewed.status == .ok)
            #expect(try await client.request(.POST, "/v2/team/app/blobs/uploads/", headers: [try bearer(renewed)]).status == .accepted)

            let password = "grant_type=password&username=bob&password=bob-pw&service=registry&scope=repository%3Ateam%2Fapp%3Apull&access_type=offline"
            let byPassword = try await client.request(
                .POST, "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(password.utf8))
            #expect(byPassword.status == .ok)
            #expect(try byPassword.json()["refresh_token"] as? String != nil)
            let wrong = "grant_type=password&username=bob&password=nope&service=registry"
            let refused = try await client.request(
                .POST, "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(wrong.utf8))
            #expect(refused.status == .unauthorized)
        }
    }

    @Test func tokensOfATrustedExternalTokenServerAreAccepted() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        let external = ES256PrivateKey()
        try external.publicKey.pemRepresentation.write(toFile: directory + "/external.pem", atomically: true, encoding: .utf8)
        try await TestRegistry.with(configure: {
            $0.tokenRealm = "https://auth.example.com/token"
            $0.tokenIssuer = "auth.example.com"
            $0.tokenTrustedKey = directory + "/external.pem"
        }) { client in
            func token(issuer: String, audience: String) async throws -> (String, String) {
                let token = try await ExternalToken.sign(
                    with: external, kid: "external-key-7", issuer: issuer, audience: audience,
                    access: [ResourceAccess(type: "repository", name: "ext/app", actions: ["pull", "push"])])
                return ("Authorization", "Bearer \(token)")
            }
            let good = try await token(issuer: "auth.example.com", audience: "registry")
            #expect(try await client.request(.POST, "/v2/ext/app/blobs/uploads/", headers: [good]).status == .accepted)
            let wrongIssuer = try await token(issuer: "someone.else", audience: "registry")
            #expect(try await client.request(.POST, "/v2/ext/app/blobs/uploads/", headers: [wrongIssuer]).status == .unauthorized)
            let wrongAudience = try await token(issuer: "auth.example.com", audience: "another-registry")
            #expect(try await client.request(.POST, "/v2/ext/app/blobs/uploads/", headers: [wrongAudience]).status == .unauthorized)
        }
    }

    @Test func tokensSignedByAKeyOfATrustedJWKSAreAccepted() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        let external = ES256PrivateKey()
        let coordinates = try #require(external.publicKey.parameters)
        let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","use":"sig","kid":"jwks-key","x":"\#(coordinates.x)","y":"\#(coordinates.y)"}]}"#
        try jwks.write(toFile: directory + "/jwks.json", atomically: true, encoding: .utf8)
        try await TestRegistry.with(configure: {
            $0.tokenRealm = "https://auth.example.com/token"
            $0.tokenIssuer = "auth.example.com"
            $0.tokenJWKS = directory + "/jwks.json"
        }) { client in
            let token = try await ExternalToken.sign(
                with: external, kid: "jwks-key", issuer: "auth.example.com", audience: "registry",
                access: [ResourceAccess(type: "repository", name: "ext/app", actions: ["pull"])])
            let reply = try await client.request(.GET, "/v2/ext/app/tags/list", headers: [("Authorization", "Bearer \(token)")])
            #expect(reply.status == .notFound)  // authorized; the repository simply does not exist
            #expect(try await client.request(.POST, "/v2/ext/app/blobs/uploads/", headers: [("Authorization", "Bearer \(token)")]).status == .unauthorized)
        }
    }

    @Test func anonymousTokensPullOnlyWhenAnonymousPullIsOn() async throws {
        try await withTokenRegistry { client in
            let anonymous = try await token(client, user: nil, scope: "repository:team/app:pull")
            #expect(anonymous.status == .ok)
            let reply = try await client.request(.GET, "/v2/team/app/tags/list", headers: [try bearer(anonymous)])
            #expect(reply.status == .unauthorized)
        }
    }
}

/// A token as an external token server would sign it: its own key and key id, standard claims.
private enum ExternalToken {
    struct Claims: JWTPayload {
        var iss: IssuerClaim, sub: SubjectClaim, aud: AudienceClaim, exp: ExpirationClaim, nbf: NotBeforeClaim
        var access: [ResourceAccess]
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func sign(with key: ES256PrivateKey, kid: String, issuer: String, audience: String, access: [ResourceAccess]) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: kid))
        let now = Date()
        let claims = Claims(
            iss: .init(value: issuer), sub: .init(value: "ci"), aud: .init(value: audience),
            exp: .init(value: now.addingTimeInterval(300)), nbf: .init(value: now.addingTimeInterval(-5)), access: access)
        return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
    }
}
