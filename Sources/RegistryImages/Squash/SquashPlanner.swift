import RegistryLayers

/// Decides which entries of which layers make an image's final filesystem, the way an overlay
/// of the layers does: layers are planned top first; a path an upper layer has wins over the
/// lower ones (within a layer, its last entry wins); a whiteout removes its path from the
/// layers below, an opaque whiteout its directory's lower contents; an upper entry that is not
/// a directory hides whatever lower layers have below it. Whiteouts themselves are never kept.
///
/// Holds one set of paths, not contents: memory grows with the number of files, not their size.
struct SquashPlanner {
    /// One entry of a layer, in the layer's order.
    struct Entry {
        var ordinal: Int
        var path: LayerPath?
        var type: TarEntryType
        /// A hard link's target.
        var linkTarget: LayerPath? = nil
    }

    /// What to write of one layer: the entries kept, and how hard links whose target an upper
    /// layer replaced or deleted keep its data, as they do in an overlay: the first such link
    /// is written as the target's data (``adoptedBy``), the others link to it (``relinked``).
    struct LayerPlan {
        var kept: Set<Int> = []
        /// Target entry (not kept) -> the path its data is written under.
        var adoptedBy: [Int: LayerPath] = [:]
        /// Hard link entry -> its new target, or nil when the link itself became the data.
        var relinked: [Int: LayerPath?] = [:]
    }

    private var present: Set<LayerPath> = []
    private var removed: Set<LayerPath> = []
    private var opaque: Set<LayerPath> = []
    private var rootIsOpaque = false
    private var notDirectories: Set<LayerPath> = []

    /// What the final filesystem keeps of `entries` (one layer, given after every layer above it).
    mutating func plan(layer entries: [Entry]) -> LayerPlan {
        var plan = LayerPlan(kept: keep(entries))
        var latest: [LayerPath: Int] = [:]
        for entry in entries {
            defer { if let path = entry.path { latest[path] = entry.ordinal } }
            guard entry.type == .hardLink, plan.kept.contains(entry.ordinal), let path = entry.path,
                  let target = entry.linkTarget.flatMap({ latest[$0] }), !plan.kept.contains(target)
            else { continue }
            if let adopter = plan.adoptedBy[target] {
                plan.relinked[entry.ordinal] = .some(adopter)
            } else {
                plan.adoptedBy[target] = path
                plan.relinked[entry.ordinal] = .some(nil)
            }
        }
        return plan
    }

    /// The ordinals of `entries` that the final filesystem keeps.
    private mutating func keep(_ entries: [Entry]) -> Set<Int> {
        var kept: Set<Int> = []
        var seen: Set<LayerPath> = []
        var removing: [LayerPath] = []
        var hiding: [LayerPath?] = []
        for entry in entries.reversed() {
            guard let path = entry.path else { continue }
            if let whiteout = Whiteout.kind(of: path) {
                switch whiteout {
                case .removes(let target): removing.append(target)
                case .opaque(let directory): hiding.append(directory)
                }
                continue
            }
            guard seen.insert(path).inserted, !isHidden(path) else { continue }
            kept.insert(entry.ordinal)
        }
        // What this layer has shadows the layers below it; its whiteouts act on them only.
        for entry in entries where kept.contains(entry.ordinal) {
            guard let path = entry.path else { continue }
            present.insert(path)
            if entry.type != .directory { notDirectories.insert(path) }
        }
        removed.formUnion(removing)
        for directory in hiding {
            if let directory { opaque.insert(directory) } else { rootIsOpaque = true }
        }
        return kept
    }

    /// Whether the layers above leave nothing of `path` from this layer.
    private func isHidden(_ path: LayerPath) -> Bool {
        if rootIsOpaque || present.contains(path) || removed.contains(path) { return true }
        for ancestor in path.ancestors where removed.contains(ancestor) || opaque.contains(ancestor) || notDirectories.contains(ancestor) {
            return true
        }
        return false
    }
}
