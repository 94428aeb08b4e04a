import RegistryCore
import Yams

/// Reads `immutable_tags`, a list of rules:
///
/// ```yaml
/// immutable_tags:
///   - name: releases                  # named in refusals
///     repositories: ["team/**"]       # globs (one string or a list)
///     tags: 'v[0-9]+\..*'             # regular expression, matched against the whole tag
///     admins_may_override: false      # default false
/// ```
enum ImmutableTagsYAML {
    static let structuredKeys: Set<String> = ["immutable_tags"]

    private static let fields: Set<String> = ["name", "repositories", "tags", "admins_may_override"]

    static func parse(_ rules: Node) throws(ConfigurationError) -> ImmutableTagRules {
        guard let list = rules.sequence else {
            throw .invalidValue(key: "immutable_tags", value: "\(rules)", expected: "a list of rules")
        }
        var parsed: [ImmutableTagRule] = []
        for (index, node) in list.enumerated() {
            let key = "immutable_tags[\(index)]"
            guard let mapping = node.mapping else {
                throw .invalidValue(key: key, value: "\(node)", expected: "a map with name, repositories and tags")
            }
            try RepositoryGlobsYAML.requireKnownFields(mapping, fields, key: key, source: "the immutable tag rules")
            guard let name = mapping["name"]?.string, !name.isEmpty else {
                throw .invalidValue(key: "\(key).name", value: "", expected: "a name for the rule")
            }
            let repositories = try RepositoryGlobsYAML.parse(mapping["repositories"], key: "\(key).repositories")
            guard let pattern = mapping["tags"]?.string, let tags = TagExpression(pattern) else {
                throw .invalidValue(key: "\(key).tags", value: mapping["tags"]?.string ?? "", expected: "a regular expression over tag names")
            }
            let override = try mapping["admins_may_override"]?.string.map { value throws(ConfigurationError) in
                try BooleanParser.parse(value, key: "\(key).admins_may_override")
            } ?? false
            parsed.append(ImmutableTagRule(name: name, repositories: repositories, tags: tags, adminsMayOverride: override))
        }
        return ImmutableTagRules(parsed)
    }
}
