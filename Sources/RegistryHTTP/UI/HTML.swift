/// HTML built as text, with escaping done in one place: ``text(_:)`` escapes what it is given
/// (names, tags, labels, annotations: everything that comes from users), ``raw(_:)`` appends
/// the page's own markup. Nothing else writes to a page.
struct HTML {
    private(set) var content = ""

    /// The page's own markup, never user data.
    mutating func raw(_ markup: String) {
        content += markup
    }

    /// Text, escaped for an element's content or a quoted attribute value.
    mutating func text(_ value: String) {
        content += Self.escape(value)
    }

    /// `<tag attributes>escaped text</tag>`.
    mutating func element(_ tag: String, _ value: String, attributes: String = "") {
        raw("<\(tag)\(attributes.isEmpty ? "" : " " + attributes)>")
        text(value)
        raw("</\(tag)>")
    }

    /// `<a href="escaped">escaped</a>`.
    mutating func link(_ value: String, to href: String, attributes: String = "") {
        raw("<a href=\"\(Self.escape(href))\"\(attributes.isEmpty ? "" : " " + attributes)>")
        text(value)
        raw("</a>")
    }

    static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// A query string value, percent-encoded (then escaped as an attribute when written).
    static func query(_ value: String) -> String {
        PercentEncoding.encode(value, keeping: "/:")
    }
}
