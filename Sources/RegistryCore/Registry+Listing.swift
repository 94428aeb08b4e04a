import RegistryModel
import RegistryStorage

extension Registry {
    /// Largest page a listing returns, whatever `n` asks for.
    public static let maximumPageSize = 10_000

    /// Tags in lexical order after `last`. `NAME_UNKNOWN` for a repository that does not exist;
    /// an existing repository without tags gives an empty page.
    public func tags(in repository: RepositoryName, limit: Int?, after last: String?) async throws -> Page {
        let pageSize = Self.pageSize(limit)
        if let route = proxy?.route(for: repository), let upstreamTags = try await proxiedTags(in: repository, route: route) {
            guard !upstreamTags.isEmpty else { throw RegistryError(.nameUnknown, detail: ["name": repository.value]) }
            let following = last.map { last in upstreamTags.filter { $0 > last } } ?? upstreamTags
            return Self.page(Array(following.prefix(pageSize + 1)), size: pageSize)
        }
        guard let names = try await metadata.tags(in: repository, after: last, limit: pageSize + 1) else {
            throw RegistryError(.nameUnknown, detail: ["name": repository.value])
        }
        return Self.page(names, size: pageSize)
    }

    /// Repository names in lexical order after `last`.
    public func repositories(limit: Int?, after last: String?) async throws -> Page {
        let pageSize = Self.pageSize(limit)
        return Self.page(try await metadata.repositories(after: last, limit: pageSize + 1), size: pageSize)
    }

    /// Manifests in `repository` whose `subject` is `digest`, optionally of one artifact type.
    /// An unknown digest or repository has no referrers (an empty list, never an error).
    public func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws -> [Descriptor] {
        try await metadata.referrers(of: digest, in: repository, artifactType: artifactType)
    }

    private static func pageSize(_ limit: Int?) -> Int {
        min(max(limit ?? maximumPageSize, 0), maximumPageSize)
    }

    private static func page(_ names: [String], size: Int) -> Page {
        Page(items: Array(names.prefix(size)), hasMore: names.count > size)
    }
}
