extension AccessControl {
    /// One page of the catalog as `identity` may see it: only repositories it may pull from.
    /// Pages are read with `repositories(limit, after)` until enough visible names are found or
    /// the catalog ends; in open mode the first page is the answer as it is.
    public func catalogPage(
        for identity: Identity, limit: Int?, after last: String?,
        repositories: (_ limit: Int?, _ after: String?) async throws -> Page
    ) async throws -> Page {
        var page = try await repositories(limit, last)
        if case .open = mode { return page }
        let wanted = limit ?? Registry.maximumPageSize
        var visible = page.items.filter { catalogShows($0, to: identity) }
        var cursor = page.items.last
        while visible.count < wanted, page.hasMore, let after = cursor {
            page = try await repositories(wanted, after)
            visible += page.items.filter { catalogShows($0, to: identity) }
            cursor = page.items.last
        }
        return Page(items: Array(visible.prefix(wanted)), hasMore: visible.count > wanted || page.hasMore)
    }
}
