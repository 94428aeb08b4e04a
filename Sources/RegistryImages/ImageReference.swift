import RegistryModel

/// An image as users write it: `[HOST[:PORT]/]REPOSITORY[:TAG][@DIGEST]`, split into where it
/// lives, the repository and the reference (`latest` when neither a tag nor a digest is given;
/// the digest when both are, as docker does).
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    /// `HOST[:PORT]/REPOSITORY` (with a scheme if one was written), or just the repository.
    public var location: String
    public var reference: Reference

    public init(parsing text: String) throws(RegistryError) {
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.lastIndex(of: "@") {
            digest = try Digest(validating: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: Tag?
        // A tag's colon comes after the last slash; one before it is a port (or a scheme's).
        if let colon = rest.lastIndex(of: ":"), rest[colon...].firstIndex(of: "/") == nil {
            let candidate = String(rest[rest.index(after: colon)...])
            guard let parsed = Tag(candidate) else { throw RegistryError(.tagInvalid, detail: ["tag": candidate]) }
            tag = parsed
            rest = rest[..<colon]
        }
        location = String(rest)
        reference = digest.map { .digest($0) } ?? .tag(tag ?? Tag("latest")!)
    }

    public var description: String {
        switch reference {
        case .tag(let tag): "\(location):\(tag)"
        case .digest(let digest): "\(location)@\(digest)"
        }
    }
}
