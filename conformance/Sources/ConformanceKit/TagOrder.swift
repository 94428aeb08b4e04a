/// The two orders the spec allows for tag lists: "ASCIIbetical" (byte order, Go's
/// `sort.Strings`) or lexical (case-insensitive).
enum TagOrder {
    case ascii
    case caseInsensitive

    /// The order `tags` are in, if one of the two.
    init?(of tags: [String]) {
        if tags == TagOrder.ascii.sorted(tags) {
            self = .ascii
        } else if tags == TagOrder.caseInsensitive.sorted(tags) {
            self = .caseInsensitive
        } else {
            return nil
        }
    }

    func sorted(_ tags: [String]) -> [String] {
        switch self {
        case .ascii: tags.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        case .caseInsensitive:
            tags.sorted { left, right in
                let (l, r) = (left.lowercased(), right.lowercased())
                return l == r ? left.utf8.lexicographicallyPrecedes(right.utf8) : l.utf8.lexicographicallyPrecedes(r.utf8)
            }
        }
    }
}
