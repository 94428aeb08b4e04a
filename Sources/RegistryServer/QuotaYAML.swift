import RegistryCore
import Yams

/// Reads `quotas.rules`; `quotas.default` and `quotas.warn_percent` are single values
/// (``ConfigurationKey/policyKeys``):
///
/// ```yaml
/// quotas:
///   default: 10GiB                    # repositories no rule matches (default: no limit)
///   warn_percent: 80                  # log, count and announce crossing 80 % (0: never)
///   rules:                            # the first rule whose globs match applies
///     - name: team                    # named in refusals (default: the first glob)
///       repositories: ["team/**"]
///       limit: 50GiB
/// ```
enum QuotaYAML {
    static let structuredKeys: Set<String> = ["quotas.rules"]

    private static let fields: Set<String> = ["name", "repositories", "limit"]

    static func parse(_ rules: Node) throws(ConfigurationError) -> [StorageQuotaRule] {
        guard let list = rules.sequence else {
            throw .invalidValue(key: "quotas.rules", value: "\(rules)", expected: "a list of rules")
        }
        var parsed: [StorageQuotaRule] = []
        for (index, node) in list.enumerated() {
            let key = "quotas.rules[\(index)]"
            guard let mapping = node.mapping else {
                throw .invalidValue(key: key, value: "\(node)", expected: "a map with repositories and limit")
            }
            try RepositoryGlobsYAML.requireKnownFields(mapping, fields, key: key, source: "the quota rules")
            let repositories = try RepositoryGlobsYAML.parse(mapping["repositories"], key: "\(key).repositories")
            guard let value = mapping["limit"]?.string else {
                throw .invalidValue(key: "\(key).limit", value: "", expected: "a size such as 50GiB")
            }
            let limit = try ByteCountParser.parse(value, key: "\(key).limit")
            parsed.append(StorageQuotaRule(name: mapping["name"]?.string, repositories: repositories, limit: limit))
        }
        return parsed
    }
}
