import RegistryCore
import Yams

/// What the policy sections' parsers share: repository globs given as one string or a list.
enum RepositoryGlobsYAML {
    static func parse(_ node: Node?, key: String) throws(ConfigurationError) -> [RepositoryPattern] {
        let globs: [String]
        if let single = node?.string {
            globs = [single]
        } else if let list = node?.sequence {
            globs = list.compactMap(\.string)
            guard globs.count == list.count else {
                throw .invalidValue(key: key, value: "\(node.map { "\($0)" } ?? "")", expected: "repository globs such as team/**")
            }
        } else {
            globs = []
        }
        guard !globs.isEmpty, !globs.contains(where: \.isEmpty) else {
            throw .invalidValue(key: key, value: "", expected: "a repository glob such as team/**, or a list of them")
        }
        return globs.map(RepositoryPattern.init)
    }

    /// Refuses fields a rule does not know, so that a typo is not silently ignored.
    static func requireKnownFields(_ mapping: Node.Mapping, _ fields: Set<String>, key: String, source: String) throws(ConfigurationError) {
        for field in mapping.keys.compactMap(\.string) where !fields.contains(field) {
            throw .unknownKey("\(key).\(field)", source: source)
        }
    }
}

/// The structured parts of `immutable_tags`, `quotas` and `rate_limits`, read from the
/// configuration file's root.
enum PolicyYAML {
    static let structuredKeys = ImmutableTagsYAML.structuredKeys.union(QuotaYAML.structuredKeys).union(RateLimitYAML.structuredKeys)

    static func apply(_ root: Node, to configuration: inout RegistryConfiguration) throws(ConfigurationError) {
        let sections = root.mapping
        if let rules = sections?["immutable_tags"] {
            configuration.immutableTags = try ImmutableTagsYAML.parse(rules)
        }
        if let rules = sections?["quotas"]?.mapping?["rules"] {
            configuration.quotas.rules = try QuotaYAML.parse(rules)
        }
        if let networks = sections?["rate_limits"]?.mapping?["exempt_networks"] {
            configuration.rateLimits.exemptNetworks = try RateLimitYAML.parseExemptNetworks(networks)
        }
    }
}
