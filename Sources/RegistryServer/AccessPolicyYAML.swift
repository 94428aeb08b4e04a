import RegistryCore
import Yams

/// Reads the structured part of the `auth` section, which key=value sources cannot express:
///
/// ```yaml
/// auth:
///   htpasswd: /etc/registry/htpasswd
///   admins: [alice, ops]            # users or groups with every right everywhere
///   groups:
///     team-a: [bob, carol]
///   rules:                          # named; in file order, the first match wins
///     team-a:
///       repositories: "team-a/**"
///       groups: [team-a]
///       actions: [pull, push, delete]
///     public:
///       repositories: "public/*"
///       users: ["*"]                # every signed-in user
///       actions: [pull]
///   default_actions: [pull, push]   # where no rule matches (default: pull, push, delete)
/// ```
enum AccessPolicyYAML {
    static let structuredKeys: Set<String> = ["auth.admins", "auth.groups", "auth.rules", "auth.default_actions"]

    static func parse(_ auth: Node) throws(ConfigurationError) -> AccessPolicy {
        var policy = AccessPolicy()
        guard let mapping = auth.mapping else { return policy }
        if let admins = mapping["admins"] {
            policy.admins = Set(try strings(admins, key: "auth.admins"))
        }
        if let groups = mapping["groups"] {
            guard let groupMapping = groups.mapping else {
                throw .invalidValue(key: "auth.groups", value: "\(groups)", expected: "a map of group name to a list of users")
            }
            for (name, members) in groupMapping {
                let group = name.string ?? ""
                policy.groups[group] = Set(try strings(members, key: "auth.groups.\(group)"))
            }
        }
        if let defaults = mapping["default_actions"] {
            policy.defaultActions = try actions(defaults, key: "auth.default_actions")
        }
        if let rules = mapping["rules"] {
            guard let named = rules.mapping else {
                throw .invalidValue(key: "auth.rules", value: "\(rules)", expected: "a map of rule name to rule")
            }
            for (name, rule) in named {
                policy.rules.append(try parseRule(rule, key: "auth.rules.\(name.string ?? "?")"))
            }
        }
        return policy
    }

    private static func parseRule(_ node: Node, key: String) throws(ConfigurationError) -> AccessPolicy.Rule {
        guard let mapping = node.mapping else {
            throw .invalidValue(key: key, value: "\(node)", expected: "a map with repositories, users/groups and actions")
        }
        for field in mapping.keys.compactMap(\.string) where !["repositories", "users", "groups", "actions"].contains(field) {
            throw .unknownKey("\(key).\(field)", source: "the access rules")
        }
        guard let pattern = mapping["repositories"]?.string, !pattern.isEmpty else {
            throw .invalidValue(key: "\(key).repositories", value: "", expected: "a repository glob such as team-a/**")
        }
        guard let actionNode = mapping["actions"] else {
            throw .invalidValue(key: "\(key).actions", value: "", expected: "a list of pull, push, delete")
        }
        return AccessPolicy.Rule(
            repositories: RepositoryPattern(pattern),
            users: Set(try mapping["users"].map { node throws(ConfigurationError) in try strings(node, key: "\(key).users") } ?? []),
            groups: Set(try mapping["groups"].map { node throws(ConfigurationError) in try strings(node, key: "\(key).groups") } ?? []),
            actions: try actions(actionNode, key: "\(key).actions"))
    }

    private static func strings(_ node: Node, key: String) throws(ConfigurationError) -> [String] {
        if let scalar = node.string { return [scalar] }
        guard let list = node.sequence else {
            throw .invalidValue(key: key, value: "\(node)", expected: "a list of names")
        }
        var names: [String] = []
        for item in list {
            guard let name = item.string else { throw .invalidValue(key: key, value: "\(item)", expected: "a name") }
            names.append(name)
        }
        return names
    }

    private static func actions(_ node: Node, key: String) throws(ConfigurationError) -> Set<Action> {
        var result: Set<Action> = []
        for name in try strings(node, key: key) {
            guard let action = Action(rawValue: name) else {
                throw .invalidValue(key: key, value: name, expected: "pull, push or delete")
            }
            result.insert(action)
        }
        return result
    }
}
