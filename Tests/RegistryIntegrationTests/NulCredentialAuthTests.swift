import Foundation
import RegistryCore
import RegistryServer
import RegistryTestSupport
import Testing

/// bcrypt reads a password only up to its first NUL byte, so `alice-pw\0anything` would pass as
/// `alice-pw`; the registry refuses such credentials wherever it takes a password.
@Suite("NUL bytes in credentials (Auth)")
struct NulCredentialAuthTests {
    private static let form = ("Content-Type", "application/x-www-form-urlencoded")

    private func withUsers(tokens: Bool, _ body: (RegistryClient) async throws -> Void) async throws {
        let htpasswd = try TestUsers.htpasswd("alice")
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            if tokens { $0.tokenRealm = "http://127.0.0.1/token" }
        }, body)
    }

    @Test func basicLoginWithNULAfterTheRightPasswordIsRefused() async throws {
        try await withUsers(tokens: false) { client in
            #expect(try await client.request(.GET, "/v2/", headers: [AuthTests.basic("alice", "alice-pw")]).status == .ok)
            let refused = try await client.request(.GET, "/v2/", headers: [AuthTests.basic("alice", "alice-pw\u{0}anything")])
            #expect(refused.status == .unauthorized)
            #expect(refused.errorCode == "UNAUTHORIZED")
            let nulUser = try await client.request(.GET, "/v2/", headers: [AuthTests.basic("alice\u{0}", "alice-pw")])
            #expect(nulUser.status == .unauthorized)
        }
    }

    @Test func tokenEndpointRefusesNULPasswords() async throws {
        try await withUsers(tokens: true) { client in
            let scope = "service=registry&scope=repository:team/app:pull"
            #expect(try await client.request(.GET, "/token?\(scope)", headers: [AuthTests.basic("alice", "alice-pw")]).status == .ok)
            let refused = try await client.request(.GET, "/token?\(scope)", headers: [AuthTests.basic("alice", "alice-pw\u{0}x")])
            #expect(refused.status == .unauthorized)
            #expect(refused.errorCode == "UNAUTHORIZED")

            let right = "grant_type=password&username=alice&password=alice-pw&service=registry"
            #expect(try await client.request(.POST, "/token", headers: [Self.form], body: Array(right.utf8)).status == .ok)
            let nul = "grant_type=password&username=alice&password=alice-pw%00x&service=registry"
            let byForm = try await client.request(.POST, "/token", headers: [Self.form], body: Array(nul.utf8))
            #expect(byForm.status == .unauthorized)
            #expect(byForm.errorCode == "UNAUTHORIZED")
        }
    }
}
