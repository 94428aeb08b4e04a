import NIOCore
import RegistryCore
import RegistryImages
import RegistryModel
import RegistryStorage

/// The web UI: server-rendered pages over the registry's own semantics, with the rights of the
/// API (a page shows only repositories the viewer may pull).
extension RegistryResponder {
    static let uiPageSize = 50

    func uiPage(_ page: String, request: Request, identity: AccessControl.Identity) async throws -> Response {
        switch page {
        case "style.css": return UILayout.stylesheet()
        case "login": return try await loginPage(request)
        case "logout": return try logout(request, identity: identity)
        default: break
        }
        try allow(request.method, page == "delete" ? [.GET, .HEAD, .POST] : [.GET, .HEAD])
        let mayBrowse = (try? access.requireBrowsing(identity)) != nil
        if !mayBrowse, access.offersUISignIn, identity.name == nil, request.headers.first(name: "authorization") == nil {
            // A browser without a session goes to the sign-in form, and comes back.
            return UILayout.redirect(to: "/ui/login?next=\(HTML.query(request.head.uri))")
        }
        try access.requireBrowsing(identity)
        switch page {
        case "": return try await repositoriesPage(request, identity: identity)
        case "delete": return try await deletePage(request, identity: identity)
        case "repository": return try await repositoryPage(try uiRepository(request, identity: identity), request: request, identity: identity)
        case "image": return try await imagePage(try uiRepository(request, identity: identity), request: request, identity: identity)
        case "layer": return try await layerPage(request, identity: identity)
        default: throw RegistryError(.notFound, detail: ["path": request.path])
        }
    }

    /// The `repository` parameter, which the viewer must be allowed to pull.
    private func uiRepository(_ request: Request, identity: AccessControl.Identity) throws -> RepositoryName {
        let repository = try RepositoryName(validating: request.query["repository"] ?? "")
        try access.authorize([.pull], on: repository, for: identity)
        return repository
    }

    func visibility(for identity: AccessControl.Identity) -> @Sendable (RepositoryName) -> Bool {
        let access = self.access
        return { access.catalogShows($0.value, to: identity) }
    }

    // MARK: Repositories

    func repositoriesPage(_ request: Request, identity: AccessControl.Identity) async throws -> Response {
        let search = request.query["q"].map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        let after = request.query["after"]
        let (repositories, hasMore) = try await registry.repositorySummaries(
            containing: search, after: after, limit: Self.uiPageSize, visibleTo: visibility(for: identity))
        let totals = access.showsRegistryTotals(to: identity) ? try await registry.storageTotals() : nil
        return page(title: "Repositories", identity: identity) { html in
            html.raw("<h1>Repositories</h1>")
            if let totals {
                html.raw("<div class=\"totals\"><div>stored <b>")
                html.text(ByteCount.format(totals.bytes))
                html.raw("</b></div><div>logical <b>")
                html.text(ByteCount.format(totals.bytes + totals.sharedBytesSaved))
                html.raw("</b></div><div>saved by layer sharing <b>")
                html.text(ByteCount.format(totals.sharedBytesSaved))
                html.raw("</b></div><div>")
                html.text("\(totals.blobs) blobs")
                html.raw("</div></div>")
            }
            html.raw("<form class=\"search\" method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" placeholder=\"name contains\" value=\"")
            html.text(search ?? "")
            html.raw("\"> <button>Search</button></form>")
            html.raw("<table><thead><tr><th>repository</th><th>tags</th><th>manifests</th><th>size</th><th>last push</th></tr></thead><tbody>")
            for repository in repositories {
                let figures = repository.figures
                html.raw("<tr><td>")
                html.link(figures.name.value, to: UIPath.repository(figures.name))
                html.raw("</td><td>\(figures.tags)</td><td>\(figures.manifests)</td><td>")
                html.text(ByteCount.format(figures.physical))
                html.raw("</td><td>")
                html.text(UILayout.time(repository.lastPush))
                html.raw("</td></tr>")
            }
            html.raw("</tbody></table>")
            if repositories.isEmpty { html.element("p", search == nil ? "No repositories yet." : "No repository matches.", attributes: "class=\"muted\"") }
            if hasMore, let last = repositories.last?.figures.name.value {
                html.raw("<p>")
                html.link("next page →", to: "/?after=\(HTML.query(last))" + (search.map { "&q=\(HTML.query($0))" } ?? ""))
                html.raw("</p>")
            }
        }
    }

    // MARK: A repository

    func repositoryPage(_ repository: RepositoryName, request: Request, identity: AccessControl.Identity) async throws -> Response {
        let after = request.query["after"]
        let tags = try await registry.tagDetails(in: repository, after: after, limit: Self.uiPageSize + 1)
        let untagged = after == nil ? try await registry.untaggedManifests(in: repository, limit: Self.uiPageSize) : []
        var rows: [(TagDetail, Manifest?)] = []
        for tag in tags.prefix(Self.uiPageSize) {
            let stored = try? await registry.manifest(.digest(tag.manifest), in: repository, accepting: AcceptedMediaTypes(headerLines: [String]()))
            rows.append((tag, stored.flatMap { try? Manifest(parsing: Array($0.content.readableBytesView), contentType: $0.mediaType) }))
        }
        let mayDelete = access.permits(.delete, on: repository.value, for: identity)
        return page(title: repository.value, identity: identity) { html in
            html.element("h1", repository.value)
            html.raw("<h2>Tags</h2><table><thead><tr><th>tag</th><th>digest</th><th>platforms</th><th>size</th><th>pushed</th><th>pulled</th><th></th></tr></thead><tbody>")
            for (tag, manifest) in rows {
                let imageLink = UIPath.image(repository, digest: tag.manifest, tag: tag.tag)
                html.raw("<tr><td>")
                html.link(tag.tag.value, to: imageLink)
                html.raw("</td><td class=\"digest\">")
                html.text(tag.manifest.shortDescription)
                html.raw("</td><td>")
                html.text(Self.platforms(of: manifest))
                html.raw("</td><td>")
                html.text(manifest.map { $0.kind == .image ? ByteCount.format($0.referencedBlobs.reduce(0) { $0 + $1.size }) : "" } ?? "")
                html.raw("</td><td>")
                html.text(UILayout.time(tag.updatedAt))
                html.raw("</td><td>")
                html.text(UILayout.time(tag.pulledAt))
                html.raw("</td><td>")
                if mayDelete {
                    html.link("delete", to: UIPath.delete(repository, tag: tag.tag))
                }
                html.raw("</td></tr>")
            }
            html.raw("</tbody></table>")
            if tags.isEmpty { html.element("p", "No tags.", attributes: "class=\"muted\"") }
            if tags.count > Self.uiPageSize, let last = rows.last?.0.tag.value {
                html.raw("<p>")
                html.link("next page →", to: UIPath.repository(repository, after: last))
                html.raw("</p>")
            }
            if !untagged.isEmpty {
                html.raw("<h2>Untagged manifests</h2><table><thead><tr><th>digest</th><th>media type</th><th>pushed</th><th></th></tr></thead><tbody>")
                for manifest in untagged {
                    html.raw("<tr><td class=\"digest\">")
                    html.link(manifest.digest.description, to: UIPath.image(repository, digest: manifest.digest))
                    html.raw("</td><td>")
                    html.text(manifest.mediaType)
                    html.raw("</td><td>")
                    html.text(UILayout.time(manifest.createdAt))
                    html.raw("</td><td>")
                    if mayDelete {
                        html.link("delete", to: UIPath.delete(repository, digest: manifest.digest))
                    }
                    html.raw("</td></tr>")
                }
                html.raw("</tbody></table>")
            }
        }
    }

    /// `linux/amd64, linux/arm64` for an index; the image's own platform is in its config.
    static func platforms(of manifest: Manifest?) -> String {
        guard let manifest else { return "" }
        guard manifest.kind == .index else { return "image" }
        return manifest.manifests.compactMap { entry in
            entry.annotations?["vnd.docker.reference.type"] == nil ? entry.platform?.description : nil
        }.joined(separator: ", ")
    }
}
