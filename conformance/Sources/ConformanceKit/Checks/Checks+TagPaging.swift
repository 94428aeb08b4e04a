import Foundation

extension Check {
    /// `n`, `last` and `Link` on tags/list (end-8b). The expected pages follow the order the
    /// registry lists the whole repository in (either allowed order), ASCIIbetical otherwise.
    static let tagPaging: [Check] = [
        Check("tagListHonoursN", "end-8b", .tagPaging) { context in
            let (repository, tags) = try await context.pagingSetup()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=3")
            let page = try context.tagList(response).tags
            try context.expect(page == Array(tags.prefix(3)), "the first three tags \(Array(tags.prefix(3)))", got: "\(page)")
        },
        Check("partialTagListHasALinkToTheNextPage", "end-8b", .tagPaging) { context in
            let (repository, _) = try await context.pagingSetup()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=2")
            _ = try context.tagList(response)
            let link = response.header("Link") ?? ""
            try context.expect(Link.next(in: link) != nil, "a Link header with rel=\"next\" (RFC 5988)", got: link.isEmpty ? "none" : link)
        },
        Check("tagListHonoursLast", "end-8b", .tagPaging) { context in
            let (repository, tags) = try await context.pagingSetup()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=2&last=\(tags[1])")
            let page = try context.tagList(response).tags
            try context.expect(page == Array(tags[2..<4]), "tags \(Array(tags[2..<4]))", got: "\(page)")
        },
        Check("tagListWithOnlyLastStartsAfterIt", "end-8b", .tagPaging) { context in
            let (repository, tags) = try await context.pagingSetup()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?last=\(tags[8])")
            let page = try context.tagList(response).tags
            try context.expect(page == Array(tags[9...]), "tags \(Array(tags[9...]))", got: "\(page)")
        },
        Check("tagListWithNZeroIsEmptyWithoutLink", "end-8b", .tagPaging) { context in
            let (repository, _) = try await context.pagingSetup()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=0")
            let page = try context.tagList(response).tags
            try context.expect(page.isEmpty, "an empty tag list", got: "\(page)")
            try context.expect(response.header("Link") == nil, "no Link header", got: response.header("Link") ?? "")
        },
        Check("followingLinkListsEveryTagOnce", "end-8b", .tagPaging) { context in
            let (repository, tags) = try await context.pagingSetup()
            var next: String? = "/v2/\(repository)/tags/list?n=5"
            var listed: [String] = []
            var pages = 0
            while let url = next {
                pages += 1
                try context.expect(pages <= 10, "at most 10 pages of 5 for \(tags.count) tags", got: "more")
                let response = try await context.send(.GET, url)
                let page = try context.tagList(response).tags
                try context.expect(page.count <= 5, "at most n=5 tags per page", got: "\(page)")
                listed += page
                next = Link.next(in: response.header("Link") ?? "").map { context.absolute(Link.resolve($0, against: url)) }
            }
            try context.expect(listed == tags, "every tag once, in order: \(tags)", got: "\(listed) in \(pages) page(s)")
        },
    ]
}

extension CheckContext {
    /// Every tag of `repository` (this run's by default), following `Link` headers when the
    /// registry pages the list on its own.
    func allTags(in repository: String? = nil) async throws -> [String] {
        var next: String? = "/v2/\(repository ?? self.repository)/tags/list"
        var tags: [String] = []
        for _ in 0..<100 {
            guard let url = next else { break }
            let response = try await send(.GET, url)
            tags += try tagList(response).tags
            next = Link.next(in: response.header("Link") ?? "").map { absolute(Link.resolve($0, against: url)) }
        }
        return tags
    }

    /// A fresh repository with twelve tags, and the tags in the order the registry lists them.
    func pagingSetup() async throws -> (repository: String, tags: [String]) {
        let (repository, tags) = try await pushTaggedRepository()
        let whole = try tagList(try await send(.GET, "/v2/\(repository)/tags/list")).tags
        return (repository, (TagOrder(of: whole) ?? .ascii).sorted(tags))
    }
}
