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
            $0.accessPolicy = AccessPolicy(
                admins: ["alice"], rules: [.init(repositories: RepositoryPattern("team/**"), users: ["bob"], actions: [.pull])],
                defaultActions: [])
        }) { client in
            var admin = client
            admin.authorization = alice.1
            try await ImageInspectionTests.push([layer], to: "team/app", tag: "v1", client: admin)
            let secret = try await ImageInspectionTests.push([layer], to: "secret/app", tag: "v1", client: admin)

            // Anonymous visitors are asked to sign in (a browser shows its login prompt).
            let anonymous = try await Self.page(client, "/")
            #expect(anonymous.status == .unauthorized && anonymous.header("WWW-Authenticate")?.hasPrefix("Basic") == true)

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
}
