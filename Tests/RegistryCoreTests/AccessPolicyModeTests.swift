import Foundation
import RegistryCore
import RegistryModel
import Testing

/// A registry without logins is open through an explicit allow-all policy object, and the
/// decisions handlers used to make themselves (mounts without a source, the catalog filter) are
/// the access control's.
@Suite("Access policy modes")
struct AccessPolicyModeTests {
    private let repository = RepositoryName("team/app")!

    @Test func allowAllLetsEveryoneDoEverything() async throws {
        let open = AccessControl.allowAll
        guard case .open = open.mode else {
            Issue.record("allowAll is not in open mode")
            return
        }
        // Credentials are not looked at: not even broken ones fail.
        #expect(try await open.authenticate(authorization: "Basic !!!", certificateName: nil, address: "x") == .anonymous)
        #expect(try await open.authenticate(authorization: nil, certificateName: nil, address: "x") == .anonymous)
        try open.authorize(Set(Action.allCases), on: repository, for: .anonymous)
        try open.requireSignedIn(.anonymous)
        try open.requireCatalogAccess(.anonymous)
        try open.requireAdmin(.anonymous)
        #expect(open.permits(.delete, on: "team/app", for: .anonymous))
        #expect(open.catalogShows("team/app", to: .anonymous))
        #expect(open.mayMountWithoutSource(.anonymous))
    }

    @Test func basicModeDecidesByThePolicy() async throws {
        let basic = AccessControl(htpasswd: nil, policy: AccessPolicy(defaultActions: [.pull]))
        guard case .basic = basic.mode else {
            Issue.record("an htpasswd access control is not in basic mode")
            return
        }
        #expect(throws: RegistryError.self) { try basic.authorize([.pull], on: repository, for: .anonymous) }
        #expect(throws: RegistryError.self) { try basic.authorize([.push], on: repository, for: .user("alice")) }
        try basic.authorize([.pull], on: repository, for: .user("alice"))
        #expect(throws: RegistryError.self) { try basic.requireSignedIn(.anonymous) }
        #expect(throws: RegistryError.self) { try basic.requireAdmin(.user("alice")) }
        #expect(!basic.mayMountWithoutSource(.user("alice")))
        #expect(!basic.permits(.pull, on: "team/app", for: .anonymous))
        // Without an htpasswd file no password is right.
        await #expect(throws: RegistryError.self) {
            _ = try await basic.authenticate(
                authorization: "Basic " + Data("alice:pw".utf8).base64EncodedString(), certificateName: nil, address: "x")
        }
    }

    @Test func catalogPagesAreFilteredExceptWhenOpen() async throws {
        let names = ["a/1", "secret/1", "secret/2", "b/1", "secret/3", "c/1"]
        let repositories: (Int?, String?) async throws -> Page = { limit, after in
            let rest = names.drop { after != nil && $0 != after }.dropFirst(after == nil ? 0 : 1)
            let size = limit ?? names.count
            return Page(items: Array(rest.prefix(size)), hasMore: rest.count > size)
        }
        let open = try await AccessControl.allowAll.catalogPage(for: .anonymous, limit: 2, after: nil, repositories: repositories)
        #expect(open == Page(items: ["a/1", "secret/1"], hasMore: true))

        let policy = AccessPolicy(
            rules: [.init(repositories: RepositoryPattern("secret/**"), users: ["root"], actions: [.pull])], defaultActions: [.pull])
        let basic = AccessControl(htpasswd: nil, policy: policy)
        let page = try await basic.catalogPage(for: .user("alice"), limit: 2, after: nil, repositories: repositories)
        #expect(page == Page(items: ["a/1", "b/1"], hasMore: true))
        let rest = try await basic.catalogPage(for: .user("alice"), limit: 2, after: "b/1", repositories: repositories)
        #expect(rest == Page(items: ["c/1"], hasMore: false))
    }
}
