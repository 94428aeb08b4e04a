/// A path inside a layer, as the final filesystem names it: `./etc/hosts`, `/etc/hosts` and
/// `etc//hosts/` are all `etc/hosts`. Nil for the root itself and for paths with a `..`
/// component, which name nothing inside the image.
struct LayerPath: Hashable, Comparable, CustomStringConvertible {
    let components: [Substring]

    init?(_ path: String) {
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) where component != "." {
            if component == ".." { return nil }
            components.append(component)
        }
        guard !components.isEmpty else { return nil }
        self.components = components
    }

    private init(components: [Substring]) {
        self.components = components
    }

    var description: String { components.joined(separator: "/") }
    var name: Substring { components[components.count - 1] }

    var parent: LayerPath? {
        components.count > 1 ? LayerPath(components: Array(components.dropLast())) : nil
    }

    /// The paths above this one, nearest last: `a`, `a/b` for `a/b/c`.
    var ancestors: [LayerPath] {
        (1..<components.count).map { LayerPath(components: Array(components.prefix($0))) }
    }

    /// `name` in the same directory.
    func sibling(_ name: Substring) -> LayerPath {
        LayerPath(components: Array(components.dropLast()) + [name])
    }

    static func < (lhs: LayerPath, rhs: LayerPath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }
}

/// The OCI image-spec's whiteouts: `.wh.NAME` deletes NAME from the layers below; a
/// `.wh..wh..opq` in a directory hides everything the layers below have in it.
enum Whiteout {
    static let prefix = ".wh."
    static let opaqueName = ".wh..wh..opq"

    enum Kind: Equatable {
        /// The path the whiteout deletes.
        case removes(LayerPath)
        /// The directory whose lower contents it hides (nil: the root).
        case opaque(LayerPath?)
    }

    static func kind(of path: LayerPath) -> Kind? {
        let name = path.name
        guard name.hasPrefix(prefix) else { return nil }
        if name == opaqueName { return .opaque(path.parent) }
        let removed = name.dropFirst(prefix.count)
        guard !removed.isEmpty else { return nil }
        return .removes(path.sibling(removed))
    }
}
