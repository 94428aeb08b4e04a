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
