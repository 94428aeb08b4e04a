import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// `immutable_tags`, `quotas` and `rate_limits` as the configuration file and environment give them.
@Suite("Policy configuration")
struct PolicyConfigurationTests {
    private func writeYAML(_ text: String) throws -> String {
        let path = try TestRegistry.makeTemporaryDirectory() + "/registry.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func sectionsParseFromTheFileAndSingleValuesFromTheEnvironment() async throws {
        let file = try writeYAML(#"""
            immutable_tags:
              - name: releases
                repositories: ["team/**"]
                tags: 'v[0-9]+\..*'
                admins_may_override: true
            quotas:
              default: 10GiB
              warn_percent: 80
              rules:
                - repositories: "team/**"
                  limit: 50GiB
            rate_limits:
              pull: {rate: 100/s, burst: 200}
              push: {rate: 20/m}
              exempt_networks: ["10.0.0.0/8", "fd00::/8"]
              max_clients: 5000
            """#)
        let configuration = try await RegistryConfiguration.load(
            flags: [:], configFile: file, environment: ["REGISTRY_RATE_LIMITS_OTHER_RATE": "5/s", "REGISTRY_QUOTAS_WARN_PERCENT": "90"])
        let rule = try #require(configuration.immutableTags.rules.first)
        #expect(rule.name == "releases" && rule.adminsMayOverride && rule.tags.matches("v1.2") && !rule.tags.matches("v1"))
        #expect(configuration.quotas.defaultLimit == 10 << 30)
        #expect(configuration.quotas.warnPercent == 90)
        #expect(configuration.quotas.quota(for: RepositoryName("team/app")!) == StorageQuota(name: "team/**", limit: 50 << 30))
        #expect(configuration.rateLimits.pull == RateLimit(perSecond: 100, burst: 200))
        #expect(configuration.rateLimits.push?.burst == 20)
        #expect(configuration.rateLimits.other == RateLimit(perSecond: 5, burst: 5))
        #expect(configuration.rateLimits.exemptNetworks.count == 2)
        #expect(configuration.rateLimits.maxClients == 5000)
    }

    @Test func mistakesAreStartupErrorsThatNameTheKey() async throws {
        for (text, key) in [
            ("immutable_tags:\n  - name: r\n    repositories: a/**\n    tags: '('\n", "immutable_tags[0].tags"),
            ("immutable_tags:\n  - name: r\n    repositories: a/**\n    tags: v.*\n    admins: true\n", "immutable_tags[0].admins"),
            ("quotas:\n  rules:\n    - repositories: a/**\n      limit: lots\n", "quotas.rules[0].limit"),
            ("rate_limits:\n  exempt_networks: [\"10.0.0.0/33\"]\n", "rate_limits.exempt_networks"),
            ("rate_limits:\n  pull: {rate: fast}\n", "rate_limits.pull.rate"),
            ("rate_limits:\n  pull: {burst: 3}\n", "rate_limits.pull.burst"),
        ] {
            let file = try writeYAML(text)
            do {
                _ = try await RegistryConfiguration.load(flags: [:], configFile: file, environment: [:])
                Issue.record("accepted: \(text)")
            } catch let error as ConfigurationError {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
    }
}
