import Foundation

/// RFC 5988 `Link` headers, as far as paging needs them.
enum Link {
    /// The target of the `rel="next"` link in `header`, if any.
    static func next(in header: String) -> String? {
        for link in header.split(separator: ",") {
            let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
            let isNext = parts.dropFirst().contains { parameter in
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return pair.count == 2 && pair[0].lowercased() == "rel"
                    && pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ").contains("next")
            }
            if isNext { return String(target.dropFirst().dropLast()) }
        }
        return nil
    }

    /// A link target relative to the request it came with (a path or a full URL stay as is;
    /// a bare query replaces the request's).
    static func resolve(_ target: String, against request: String) -> String {
        guard target.hasPrefix("?") else { return target }
        let base = request.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request
        return base + target
    }
}
