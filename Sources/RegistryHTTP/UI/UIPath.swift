import RegistryModel

/// The addresses of the UI's pages, built in one place (names and digests query-encoded).
enum UIPath {
    static func repository(_ repository: RepositoryName, after tag: String? = nil) -> String {
        "/ui/repository?repository=\(HTML.query(repository.value))" + (tag.map { "&after=\(HTML.query($0))" } ?? "")
    }

    /// An image's page; `tag` names the tag it was reached by.
    static func image(_ repository: RepositoryName, digest: Digest, tag: Tag? = nil) -> String {
        "/ui/image?repository=\(HTML.query(repository.value))&digest=\(HTML.query(digest.description))"
            + (tag.map { "&tag=\(HTML.query($0.value))" } ?? "")
    }

    static func layer(_ repository: RepositoryName, digest: Digest) -> String {
        "/ui/layer?repository=\(HTML.query(repository.value))&digest=\(HTML.query(digest.description))"
    }

    /// The confirmation page of deleting a tag.
    static func delete(_ repository: RepositoryName, tag: Tag) -> String {
        "/ui/delete?repository=\(HTML.query(repository.value))&tag=\(HTML.query(tag.value))"
    }

    /// The confirmation page of deleting a manifest (with its tags).
    static func delete(_ repository: RepositoryName, digest: Digest) -> String {
        "/ui/delete?repository=\(HTML.query(repository.value))&digest=\(HTML.query(digest.description))"
    }
}
