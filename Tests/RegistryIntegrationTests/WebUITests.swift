import AsyncHTTPClient
import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// The web UI over the real server: pages, escaping of what users wrote, and rights.
@Suite("Web UI")
struct WebUITests {
    typealias Layer = ImageInspectionTests.Layer
    static let hostile = "<script>alert(1)</script>"

    /// A client that, like a test of the server (not a browser), does not follow redirects.
    static let noRedirects = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    static func ui(_ client: RegistryClient) -> RegistryClient {
        var client = client
        client.http = noRedirects
        return client
    }

    /// alice is an admin; bob may pull team/** and nothing else.
    static let aliceAdminBobPullsTeam = AccessPolicy(
        admins: ["alice"], rules: [.init(repositories: RepositoryPattern("team/**"), users: ["bob"], actions: [.pull])],
        defaultActions: [])

    static func page(_ client: RegistryClient, _ path: String, headers: [(String, String)] = []) async throws -> RegistryClient.Reply {
        try await client.request(.GET, path, headers: headers)
    }

    @Test func pagesShowRepositoriesTagsImagesAndLayersWithUserTextEscaped() async throws {
        let base = try await Layer(["etc/os-release": "ID=ui\n"])
        let app = try await Layer(["app/main": "main\n"])
        try await TestRegistry.with { client in
            let image = try await ImageInspectionTests.push(
                [base, app], to: "team/app", tag: "v1", client: client, labels: ["evil": Self.hostile, Self.hostile: "key"])
            try await ImageInspectionTests.push([base], to: "team/base", tag: "v1", client: client)

            let home = try await Self.page(client, "/")
            #expect(home.status == .ok && home.header("Content-Type") == "text/html; charset=utf-8")
            #expect(home.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
            #expect(home.text.contains(">team/app</a>") && home.text.contains(">team/base</a>"))
            #expect(home.text.contains("saved by layer sharing"))
            let search = try await Self.page(client, "/?q=bas")
            #expect(search.text.contains(">team/base</a>") && !search.text.contains(">team/app</a>"))

            let repository = try await Self.page(client, "/ui/repository?repository=team/app")
            #expect(repository.status == .ok && repository.text.contains(">v1</a>") && repository.text.contains(image.shortDescription))

            let imagePage = try await Self.page(client, "/ui/image?repository=team/app&digest=\(image)&tag=v1")
            #expect(imagePage.status == .ok)
            // Both hashes of each layer, the sharing, the pull commands.
            for layer in [base, app] {
                #expect(imagePage.text.contains(layer.digest.description) && imagePage.text.contains(layer.diffID.description))
            }
            #expect(imagePage.text.contains(">team/base:v1</a>"))
            #expect(imagePage.text.contains("docker pull 127.0.0.1:\(client.registry.port)/team/app:v1"))
            // What users wrote is text, never markup.
            #expect(!imagePage.text.contains(Self.hostile))
            #expect(imagePage.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))

            let layerPage = try await Self.page(client, "/ui/layer?repository=team/app&digest=\(base.digest)&diff_id=\(base.diffID)")
            #expect(layerPage.status == .ok && layerPage.text.contains(base.diffID.description))
            #expect(layerPage.text.contains(">team/app</a>") && layerPage.text.contains(">team/base</a>"))

            let css = try await Self.page(client, "/ui/style.css")
            #expect(css.status == .ok && css.header("Content-Type") == "text/css; charset=utf-8")
            #expect(try await Self.page(client, "/ui/nothing").status == .notFound)
            #expect(try await Self.page(client, "/ui/image?repository=team/app&digest=\(base.digest)").status == .notFound)
            #expect(try await Self.page(client, "/ui/repository?repository=Not..Valid").status == .badRequest)
        }
    }

    @Test func theUICanBeTurnedOff() async throws {
        try await TestRegistry.with(configure: { $0.uiEnabled = false }) { (client: RegistryClient) async throws -> Void in
            #expect(try await Self.page(client, "/").status == .notFound)
            #expect(try await Self.page(client, "/ui/style.css").status == .notFound)
            #expect(try await client.request(.GET, "/v2/").status == .ok)
        }
    }

    @Test func pagesShowOnlyWhatTheViewerMayPull() async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        let layer = try await Layer(["shared": "x\n"])
        let alice = ("Authorization", RobotAccountTests.basic("alice", "alice-pw"))
        let bob = ("Authorization", RobotAccountTests.basic("bob", "bob-pw"))
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = Self.aliceAdminBobPullsTeam
        }) { client in
            let client = Self.ui(client)
            var admin = client
            admin.authorization = alice.1
            try await ImageInspectionTests.push([layer], to: "team/app", tag: "v1", client: admin)
            let secret = try await ImageInspectionTests.push([layer], to: "secret/app", tag: "v1", client: admin)

            // Anonymous visitors are sent to the sign-in form, and back where they were going.
            let anonymous = try await Self.page(client, "/ui/repository?repository=team/app")
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.header("Location") == "/ui/login?next=/ui/repository%3Frepository%3Dteam/app")

            let bobHome = try await Self.page(client, "/", headers: [bob])
            #expect(bobHome.status == .ok && bobHome.text.contains(">team/app</a>") && !bobHome.text.contains("secret/app"))
            #expect(bobHome.text.contains("signed in as bob"))
            // Registry-wide figures add up every repository: for admins only.
            #expect(!bobHome.text.contains("saved by layer sharing"))
            #expect(try await Self.page(client, "/ui/repository?repository=secret/app", headers: [bob]).status == .forbidden)
            #expect(try await Self.page(client, "/ui/image?repository=secret/app&digest=\(secret)", headers: [bob]).status == .forbidden)
            // The layer both repositories use: bob is not told about the one he cannot pull.
            let layerPage = try await Self.page(client, "/ui/layer?repository=team/app&digest=\(layer.digest)", headers: [bob])
            #expect(layerPage.status == .ok && layerPage.text.contains(">team/app</a>") && !layerPage.text.contains("secret/app"))
            let aliceHome = try await Self.page(client, "/", headers: [alice])
            #expect(aliceHome.text.contains(">secret/app</a>") && aliceHome.text.contains(">team/app</a>"))
            #expect(aliceHome.text.contains("saved by layer sharing"))
        }
    }

    /// alice (admin) and bob (pull on team/** only), signed in with the form.
    static func withLogins(_ body: (RegistryClient, RegistryClient.Reply, RegistryClient.Reply) async throws -> Void) async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        let layer = try await Layer(["file": "x\n"])
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = Self.aliceAdminBobPullsTeam
        }) { client in
            let client = Self.ui(client)
            var admin = client
            admin.authorization = RobotAccountTests.basic("alice", "alice-pw")
            try await ImageInspectionTests.push([layer], to: "team/app", tag: "v1", client: admin)
            try await ImageInspectionTests.push([layer], to: "team/app", tag: "v2", client: admin)
            let alice = try await signIn(client, "alice", "alice-pw")
            let bob = try await signIn(client, "bob", "bob-pw")
            try await body(client, alice, bob)
        }
    }

    static func signIn(_ client: RegistryClient, _ user: String, _ password: String, next: String = "/") async throws -> RegistryClient.Reply {
        try await client.request(
            .POST, "/ui/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("user=\(user)&password=\(password)&next=\(formEncode(next))".utf8))
    }

    static func formEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
    }

    /// The `name=value` of a `Set-Cookie`, to send back as `Cookie`.
    static func cookie(_ reply: RegistryClient.Reply) -> (String, String) {
        ("Cookie", String(reply.header("Set-Cookie")?.split(separator: ";").first ?? ""))
    }

    @Test func signingInGivesASessionCookieThatOpensThePages() async throws {
        try await Self.withLogins { client, alice, bob in
            #expect(alice.status == .seeOther && alice.header("Location") == "/")
            let setCookie = try #require(alice.header("Set-Cookie"))
            #expect(setCookie.hasPrefix("registry_session=") && setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
            #expect(setCookie.contains("Max-Age=28800") && !setCookie.contains("Secure"))

            let bobHome = try await Self.page(client, "/", headers: [Self.cookie(bob)])
            #expect(bobHome.status == .ok && bobHome.text.contains("signed in as bob") && bobHome.text.contains(">team/app</a>"))
            #expect(bobHome.text.contains("sign out"))
            // The session opens the UI, not the API.
            #expect(try await client.request(.GET, "/v2/team/app/tags/list", headers: [Self.cookie(bob)]).status == .unauthorized)

            let wrong = try await Self.signIn(client, "bob", "nope")
            #expect(wrong.status == .unauthorized && wrong.header("Set-Cookie") == nil && wrong.text.contains("Wrong user name or password"))
            // Only a path of this site is a place to come back to.
            for next in ["//evil.example/", "/\t/evil.example/", "/\\evil.example", "https://evil.example/"] {
                let elsewhere = try await Self.signIn(client, "bob", "bob-pw", next: next)
                #expect(elsewhere.header("Location") == "/", "next=\(next)")
            }
            // A forged or altered cookie is no session.
            let forged = String(Self.cookie(bob).1.replacingOccurrences(of: "Ym9i", with: "YWxpY2U"))
            #expect(try await Self.page(client, "/", headers: [("Cookie", forged)]).status == .seeOther)

            let csrf = try #require(bobHome.text.range(of: #"name="csrf" value="([^"]+)""#, options: .regularExpression).map { String(bobHome.text[$0]) })
            let token = String(csrf.dropFirst(#"name="csrf" value=""#.count).dropLast())
            let out = try await client.request(
                .POST, "/ui/logout", headers: [Self.cookie(bob), ("Content-Type", "application/x-www-form-urlencoded")],
                body: Array("csrf=\(Self.formEncode(token))".utf8))
            #expect(out.status == .seeOther && out.header("Set-Cookie")?.contains("Max-Age=0") == true)
        }
    }

    @Test func deletingATagTakesAConfirmationWithTheFormsToken() async throws {
        try await Self.withLogins { client, alice, bob in
            // bob may pull, not delete: no delete link, and no delete page.
            let bobRepository = try await Self.page(client, "/ui/repository?repository=team/app", headers: [Self.cookie(bob)])
            #expect(bobRepository.status == .ok && !bobRepository.text.contains("/ui/delete"))
            #expect(try await Self.page(client, "/ui/delete?repository=team/app&tag=v1", headers: [Self.cookie(bob)]).status == .forbidden)

            let repository = try await Self.page(client, "/ui/repository?repository=team/app", headers: [Self.cookie(alice)])
            #expect(repository.text.contains("/ui/delete?repository=team/app&amp;tag=v1"))
            let confirm = try await Self.page(client, "/ui/delete?repository=team/app&tag=v1", headers: [Self.cookie(alice)])
            #expect(confirm.status == .ok && confirm.text.contains("This deletes the tag team/app:v1"))
            let match = try #require(confirm.text.range(of: #"name="csrf" value="[^"]+""#, options: .regularExpression))
            let token = String(confirm.text[match].dropFirst(#"name="csrf" value=""#.count).dropLast())
            let form = [Self.cookie(alice), ("Content-Type", "application/x-www-form-urlencoded")]

            // Without the token (a form posted from another site), nothing is deleted.
            let forged = try await client.request(.POST, "/ui/delete", headers: form, body: Array("repository=team/app&tag=v1".utf8))
            #expect(forged.status == .forbidden && forged.errorCode == "DENIED")
            var admin = client
            admin.authorization = RobotAccountTests.basic("alice", "alice-pw")
            #expect(try await admin.request(.GET, "/v2/team/app/manifests/v1").status == .ok)

            let deleted = try await client.request(
                .POST, "/ui/delete", headers: form, body: Array("repository=team/app&tag=v1&csrf=\(Self.formEncode(token))".utf8))
            #expect(deleted.status == .seeOther && deleted.header("Location") == "/ui/repository?repository=team/app")
            #expect(try await admin.request(.GET, "/v2/team/app/manifests/v1").status == .notFound)
            #expect(try await admin.request(.GET, "/v2/team/app/manifests/v2").status == .ok, "the other tag stays")

            // The audit log has the sign-in and the delete made through the UI (written within a second).
            var records: [[String: Any]] = []
            for _ in 0..<50 where !records.contains(where: { $0["action"] as? String == "delete" }) {
                try await Task.sleep(for: .milliseconds(100))
                records = try await admin.request(.GET, "/v2/_admin/audit?user=alice").json()["records"] as? [[String: Any]] ?? []
            }
            #expect(records.contains { $0["action"] as? String == "login" && $0["result"] as? String == "ok" })
            #expect(records.contains {
                $0["action"] as? String == "delete" && $0["repository"] as? String == "team/app" && $0["reference"] as? String == "v1"
            }, "\(records)")
        }
    }

    /// `auth.anonymous_pull` lets anonymous clients pull every repository: the UI shows them the
    /// same, without the registry totals, and offers to sign in.
    @Test func anonymousVisitorsSeeWhatAnonymousPullAllows() async throws {
        let htpasswd = try TestUsers.htpasswd("alice")
        let layer = try await Layer(["file": "x\n"])
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(admins: ["alice"], defaultActions: [], anonymousPull: true)
        }) { client in
            let client = Self.ui(client)
            var admin = client
            admin.authorization = RobotAccountTests.basic("alice", "alice-pw")
            try await ImageInspectionTests.push([layer], to: "public/app", tag: "v1", client: admin)
            let home = try await Self.page(client, "/")
            #expect(home.status == .ok && home.text.contains(">public/app</a>"))
            #expect(home.text.contains(">sign in</a>") && !home.text.contains("saved by layer sharing"))
            let repository = try await Self.page(client, "/ui/repository?repository=public/app")
            #expect(repository.status == .ok && !repository.text.contains("/ui/delete"), "anonymous visitors may not delete")
            #expect(try await Self.page(client, "/ui/delete?repository=public/app&tag=v1").status == .unauthorized)
        }
    }

    /// A session is bound to the user's htpasswd entry: changing the password or removing the
    /// user ends it within the second the file takes to be re-read, not when the cookie expires.
    @Test func aSessionEndsWhenThePasswordChangesOrTheUserIsRemoved() async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(admins: ["alice"], defaultActions: [.pull])
        }) { client in
            let client = Self.ui(client)
            let alice = Self.cookie(try await Self.signIn(client, "alice", "alice-pw"))
            let bob = Self.cookie(try await Self.signIn(client, "bob", "bob-pw"))
            #expect(try await Self.page(client, "/", headers: [alice]).text.contains("signed in as alice"))
            #expect(try await Self.page(client, "/", headers: [bob]).text.contains("signed in as bob"))

            try Htpasswd.setPassword("bob-new-pw", for: "bob", in: htpasswd, cost: 4)
            #expect(try Htpasswd.removeUser("alice", from: htpasswd))
            try await Task.sleep(for: .milliseconds(1200))
            for (user, cookie) in [("alice", alice), ("bob", bob)] {
                let page = try await Self.page(client, "/", headers: [cookie])
                #expect(page.status == .seeOther && page.header("Location")?.hasPrefix("/ui/login") == true, "\(user)'s old session")
            }
            #expect(try await Self.signIn(client, "alice", "alice-pw").status == .unauthorized)
            let again = Self.cookie(try await Self.signIn(client, "bob", "bob-new-pw"))
            #expect(try await Self.page(client, "/", headers: [again]).text.contains("signed in as bob"))
        }
    }

    /// In token mode a browser has no token: it signs in with the form against htpasswd, and
    /// the policy (what the token endpoint would grant) decides what each visitor sees and may do.
    @Test func inTokenModeTheFormSignsInAndThePolicyDecidesWhatIsShown() async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob")
        let layer = try await Layer(["file": "x\n"])
        try await TestRegistry.with(configure: {
            $0.htpasswd = htpasswd
            $0.tokenRealm = "http://127.0.0.1/token"
            $0.accessPolicy = Self.aliceAdminBobPullsTeam
        }) { client in
            let client = Self.ui(client)
            let issued = try await client.request(
                .GET, "/token?service=registry&scope=repository:team/app:pull,push&scope=repository:secret/app:pull,push",
                headers: [("Authorization", RobotAccountTests.basic("alice", "alice-pw"))])
            var pusher = client
            pusher.authorization = "Bearer " + (try issued.json()["token"] as? String ?? "")
            try await ImageInspectionTests.push([layer], to: "team/app", tag: "v1", client: pusher)
            try await ImageInspectionTests.push([layer], to: "secret/app", tag: "v1", client: pusher)

            let anonymous = try await Self.page(client, "/")
            #expect(anonymous.status == .seeOther && anonymous.header("Location") == "/ui/login?next=/")
            #expect(try await Self.page(client, "/ui/login").text.contains("<form class=\"login\""))

            let bob = Self.cookie(try await Self.signIn(client, "bob", "bob-pw"))
            let bobHome = try await Self.page(client, "/", headers: [bob])
            #expect(bobHome.status == .ok && bobHome.text.contains("signed in as bob"))
            #expect(bobHome.text.contains(">team/app</a>") && !bobHome.text.contains("secret/app"))
            #expect(try await Self.page(client, "/ui/repository?repository=secret/app", headers: [bob]).status == .forbidden)
            #expect(try await Self.page(client, "/ui/delete?repository=team/app&tag=v1", headers: [bob]).status == .forbidden)
            // The session opens the UI, not the API, which still asks for a token.
            #expect(try await client.request(.GET, "/v2/team/app/tags/list", headers: [bob]).status == .unauthorized)

            let alice = Self.cookie(try await Self.signIn(client, "alice", "alice-pw"))
            let aliceHome = try await Self.page(client, "/", headers: [alice])
            #expect(aliceHome.text.contains(">secret/app</a>") && aliceHome.text.contains("saved by layer sharing"))
            let confirm = try await Self.page(client, "/ui/delete?repository=secret/app&tag=v1", headers: [alice])
            #expect(confirm.status == .ok && confirm.text.contains("This deletes the tag secret/app:v1"))
        }
    }
}
