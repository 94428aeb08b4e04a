import RegistryCore
import Yams

/// Reads `retention.rules`, an ordered list that key=value sources cannot express:
///
/// ```yaml
/// retention:
///   dry_run: false                    # report what the rules would delete, delete nothing
///   rules:                            # the first rule whose glob matches a repository applies
///     - repositories: "team-a/**"
///       keep_last: 10                 # the 10 most recently pushed tags
///       keep_matching: "v[0-9.]+"     # tags whose whole name matches
///       keep_pulled_within: 30d       # tags pulled (or pushed) within 30 days
///       keep_untagged_for: 7d         # untagged manifests go after 7 days
///       keep_referrers: true          # signatures, SBOMs of kept manifests (default true)
/// ```
/// A tag is kept when any `keep_*` criterion keeps it; a rule with none keeps every tag.
enum RetentionYAML {
    static let structuredKeys: Set<String> = ["retention.rules"]

    private static let fields: Set<String> = [
        "repositories", "keep_last", "keep_matching", "keep_pulled_within", "keep_untagged_for", "keep_referrers",
    ]

    static func parse(_ rules: Node) throws(ConfigurationError) -> [RetentionRule] {
        guard let list = rules.sequence else {
            throw .invalidValue(key: "retention.rules", value: "\(rules)", expected: "a list of rules")
        }
        var parsed: [RetentionRule] = []
        for (index, node) in list.enumerated() {
            parsed.append(try parseRule(node, key: "retention.rules[\(index)]"))
        }
        return parsed
    }

    private static func parseRule(_ node: Node, key: String) throws(ConfigurationError) -> RetentionRule {
        guard let mapping = node.mapping else {
            throw .invalidValue(key: key, value: "\(node)", expected: "a map with repositories and keep_* criteria")
        }
        for field in mapping.keys.compactMap(\.string) where !fields.contains(field) {
            throw .unknownKey("\(key).\(field)", source: "the retention rules")
        }
        guard let pattern = mapping["repositories"]?.string, !pattern.isEmpty else {
            throw .invalidValue(key: "\(key).repositories", value: "", expected: "a repository glob such as team-a/**")
        }
        var rule = RetentionRule(repositories: RepositoryPattern(pattern))
        if let value = mapping["keep_last"]?.string {
            guard let count = Int(value), count >= 0 else {
                throw .invalidValue(key: "\(key).keep_last", value: value, expected: "a number of tags")
            }
            rule.keepLast = count
        }
        if let value = mapping["keep_matching"]?.string {
            guard let expression = TagExpression(value) else {
                throw .invalidValue(key: "\(key).keep_matching", value: value, expected: "a regular expression")
            }
            rule.keepMatching = expression
        }
        if let value = mapping["keep_pulled_within"]?.string {
            rule.keepPulledWithin = try DurationParser.parse(value, key: "\(key).keep_pulled_within")
        }
        if let value = mapping["keep_untagged_for"]?.string {
            rule.keepUntaggedFor = try DurationParser.parse(value, key: "\(key).keep_untagged_for")
        }
        if let value = mapping["keep_referrers"]?.string {
            rule.keepReferrers = try BooleanParser.parse(value, key: "\(key).keep_referrers")
        }
        return rule
    }
}
