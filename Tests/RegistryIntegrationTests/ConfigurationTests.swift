import RegistryTestSupport
import Foundation
import RegistryServer
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    private func writeYAML(_ text: String) throws -> String {
        let path = try TestRegistry.makeTemporaryDirectory() + "/registry.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultsListenOnLoopback5000WithRootUnderData() async throws {
        let configuration = try await RegistryConfiguration.load(flags: [:], configFile: nil, environment: [:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 5000)
        #expect(configuration.root == "./data")
        #expect(configuration.deletesEnabled)
        #expect(!configuration.readOnly)
    }

    @Test func flagsOverrideEnvironmentWhichOverridesTheFile() async throws {
        let file = try writeYAML("""
            http:
              listen: 0.0.0.0:6000
            storage:
              root: /from/file
              delete_enabled: false
            uploads:
              expiry: 2h
            manifests:
              default_platform: linux/arm64/v8
            log:
              level: debug
              format: json
            """)
        let configuration = try await RegistryConfiguration.load(
            flags: ["storage.root": "/from/flag"], configFile: file,
            environment: ["REGISTRY_HTTP_LISTEN": "127.0.0.2:7000", "REGISTRY_STORAGE_ROOT": "/from/env", "PATH": "/bin"])
        #expect(configuration.host == "127.0.0.2")
        #expect(configuration.port == 7000)
        #expect(configuration.root == "/from/flag")
        #expect(!configuration.deletesEnabled)
        #expect(configuration.uploadExpiry == .seconds(7200))
        #expect(configuration.defaultPlatform.description == "linux/arm64/v8")
        #expect(configuration.logLevel == .debug)
        #expect(configuration.logFormat == .json)
    }

    @Test func unknownKeysAreStartupErrorsThatNameTheKey() async throws {
        let file = try writeYAML("storage:\n  rot: /typo\n")
        await #expect(throws: ConfigurationError.unknownKey("storage.rot", source: file)) {
            try await RegistryConfiguration.load(flags: [:], configFile: file, environment: [:])
        }
        await #expect(throws: ConfigurationError.unknownKey("REGISTRY_STORAGE_ROT", source: "the environment")) {
            try await RegistryConfiguration.load(flags: [:], configFile: nil, environment: ["REGISTRY_STORAGE_ROT": "x"])
        }
    }

    @Test func badValuesAreStartupErrorsThatNameTheKey() async throws {
        let file = try writeYAML("storage:\n  delete_enabled: maybe\n")
        do {
            _ = try await RegistryConfiguration.load(flags: [:], configFile: file, environment: [:])
            Issue.record("accepted a bad boolean")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("storage.delete_enabled"))
        }
        await #expect(throws: ConfigurationError.self) {
            try await RegistryConfiguration.load(flags: ["http.listen": "nowhere"], configFile: nil, environment: [:])
        }
        await #expect(throws: ConfigurationError.self) {
            try await RegistryConfiguration.load(flags: [:], configFile: nil, environment: ["REGISTRY_UPLOADS_EXPIRY": "soon"])
        }
    }
}

@Suite("Access configuration")
struct AccessConfigurationTests {
    private func writeYAML(_ text: String) throws -> String {
        let directory = try TestRegistry.makeTemporaryDirectory()
        try "alice:$2b$04$abcdefghijklmnopqrstuu\n".write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
        let path = directory + "/registry.yaml"
        try text.replacingOccurrences(of: "HTPASSWD", with: directory + "/htpasswd").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func rulesGroupsAdminsAndDefaultsAreRead() async throws {
        let file = try writeYAML("""
            auth:
              htpasswd: HTPASSWD
              anonymous_pull: true
              admins: [root]
              groups:
                team-a: [bob, carol]
              rules:
                team:
                  repositories: "team-a/**"
                  groups: [team-a]
                  actions: [pull, push]
                public:
                  repositories: "public/*"
                  users: ["*"]
                  actions: pull
              default_actions: [pull]
            """)
        let configuration = try await RegistryConfiguration.load(flags: [:], configFile: file, environment: [:])
        let policy = configuration.accessPolicy
        #expect(configuration.htpasswd != nil)
        #expect(policy.anonymousPull)
        #expect(policy.admins == ["root"])
        #expect(policy.groups["team-a"] == ["bob", "carol"])
        #expect(policy.rules.map(\.repositories.pattern) == ["team-a/**", "public/*"])
        #expect(policy.allowedActions(for: "bob", on: "team-a/app") == [.pull, .push])
        #expect(policy.allowedActions(for: "dave", on: "public/x") == [.pull])
        #expect(policy.defaultActions == [.pull])
    }

    @Test func mistakesInRulesNameTheKey() async throws {
        let typo = try writeYAML("""
            auth:
              rules:
                team:
                  repositories: "team/**"
                  actoins: [pull]
            """)
        await #expect(throws: ConfigurationError.unknownKey("auth.rules.team.actoins", source: "the access rules")) {
            try await RegistryConfiguration.load(flags: [:], configFile: typo, environment: [:])
        }
        let badAction = try writeYAML("""
            auth:
              default_actions: [pull, destroy]
            """)
        await #expect(throws: ConfigurationError.invalidValue(key: "auth.default_actions", value: "destroy", expected: "pull, push or delete")) {
            try await RegistryConfiguration.load(flags: [:], configFile: badAction, environment: [:])
        }
        // More seconds than Int64 holds: refused as a bad value, not an overflow trap.
        await #expect(throws: ConfigurationError.invalidValue(
            key: "gc.grace_period", value: "9999999999999999d", expected: "a positive duration such as 90s, 15m, 24h or 7d")
        ) {
            try await RegistryConfiguration.load(flags: [:], configFile: nil, environment: ["REGISTRY_GC_GRACE_PERIOD": "9999999999999999d"])
        }
    }
}
