import Configuration
import Foundation
import SystemPackage
import Yams

extension RegistryConfiguration {
    /// Resolves the configuration from, highest priority first: command-line flags (already
    /// parsed into dotted keys), `REGISTRY_*` environment variables, the YAML file, defaults.
    /// Unknown keys in the file or the environment and unparsable values are errors.
    public static func load(
        flags: [String: String], configFile: String?, proxies proxyFlags: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> RegistryConfiguration {
        let known = Dictionary(uniqueKeysWithValues: ConfigurationKey.all.map { ($0.dotted, $0) })

        let registryEnvironment = environment.filter { $0.key.hasPrefix("REGISTRY_") }
        let knownEnvironmentNames = Set(ConfigurationKey.all.map(\.environmentName))
        if let unknown = registryEnvironment.keys.sorted().first(where: { !knownEnvironmentNames.contains($0) }) {
            throw ConfigurationError.unknownKey(unknown, source: "the environment")
        }
        for key in flags.keys where known[key] == nil {
            throw ConfigurationError.unknownKey(key, source: "the command line")
        }

        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { key, value in
                (AbsoluteConfigKey(key.split(separator: ".").map(String.init)), ConfigValue(.string(value), isSecret: false))
            })),
            EnvironmentVariablesProvider(environmentVariables: registryEnvironment).prefixKeys(with: ["registry"]),
        ]
        var accessNode: Node?
        var retentionRules: Node?
        var proxyUpstreams: Node?
        var eventEndpoints: Node?
        var policySections: Node?
        if let configFile {
            let root = try validateKeys(ofYAMLFile: configFile, known: Set(known.keys))
            accessNode = root?.mapping?["auth"]
            retentionRules = root?.mapping?["retention"]?.mapping?["rules"]
            proxyUpstreams = root?.mapping?["proxy"]?.mapping?["upstreams"]
            eventEndpoints = root?.mapping?["events"]?.mapping?["endpoints"]
            policySections = root
            providers.append(try await ScalarYAMLFile.provider(for: configFile, root: root, removing: structuredKeys))
        }
        let reader = ConfigReader(providers: providers)

        var configuration = RegistryConfiguration()
        for key in ConfigurationKey.all {
            if let value = reader.string(forKey: ConfigKey(key.path)) {
                try key.apply(&configuration, value)
            }
        }
        if let accessNode {
            let anonymousPull = configuration.accessPolicy.anonymousPull
            configuration.accessPolicy = try AccessPolicyYAML.parse(accessNode)
            configuration.accessPolicy.anonymousPull = anonymousPull
        }
        if let retentionRules {
            configuration.retention.rules = try RetentionYAML.parse(retentionRules)
        }
        if let proxyUpstreams {
            configuration.proxies = try ProxyYAML.parse(proxyUpstreams)
        }
        if let eventEndpoints {
            configuration.events.endpoints = try EventsYAML.parse(eventEndpoints)
        }
        if let policySections {
            try PolicyYAML.apply(policySections, to: &configuration)
        }
        for flag in proxyFlags {
            let proxy = try ProxyConfiguration.parse(flag: flag)
            if let index = configuration.proxies.firstIndex(where: { $0.name == proxy.name }) {
                configuration.proxies[index].url = proxy.url
            } else {
                configuration.proxies.append(proxy)
            }
        }
        if configuration.blobStorage.redirect, configuration.blobStorage.driver != .s3 {
            throw ConfigurationError.invalidValue(key: "storage.redirect", value: "true", expected: "false unless storage.driver is s3 (a file system has no URLs to redirect to)")
        }
        if configuration.blobStorage.driver == .s3 {
            let s3 = configuration.blobStorage
            for (key, value) in [("storage.s3.endpoint", s3.endpoint), ("storage.s3.bucket", s3.bucket), ("storage.s3.access_key", s3.accessKey)]
            where value == nil {
                throw ConfigurationError.invalidValue(key: key, value: "", expected: "a value when storage.driver is s3")
            }
            if s3.secretKey == nil && s3.secretKeyFile == nil {
                throw ConfigurationError.invalidValue(key: "storage.s3.secret_key", value: "", expected: "a value (or storage.s3.secret_key_file) when storage.driver is s3")
            }
        }
        if configuration.metadata.driver == .postgres, configuration.metadata.url == nil {
            throw ConfigurationError.invalidValue(key: "metadata.url", value: "", expected: "a postgres:// URL when metadata.driver is postgres")
        }
        if !configuration.proxies.isEmpty, configuration.readOnly {
            throw ConfigurationError.invalidValue(key: "storage.read_only", value: "true", expected: "false: a pull-through cache stores what it fetches")
        }
        switch (configuration.tlsCertificate, configuration.tlsKey) {
        case (nil, nil):
            if let clientCA = configuration.tlsClientCA {
                throw ConfigurationError.invalidValue(key: "tls.client_ca", value: clientCA, expected: "tls.certificate and tls.key as well")
            }
        case (nil, _?):
            throw ConfigurationError.invalidValue(key: "tls.certificate", value: "", expected: "a certificate to go with tls.key")
        case (_?, nil):
            throw ConfigurationError.invalidValue(key: "tls.key", value: "", expected: "a key to go with tls.certificate")
        case (_?, _?):
            break
        }
        return configuration
    }

    /// swift-configuration ignores keys nobody asks for; a typo in a config file must not be
    /// silently ignored, so the file's keys are checked against the known list first.
    @discardableResult
    private static func validateKeys(ofYAMLFile path: String, known: Set<String>) throws -> Node? {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError.unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError.unreadableFile(path: path, reason: "not valid YAML: \(error)")
        }
        guard let node else { return nil }
        for key in leafKeys(of: node, prefix: []) where !known.contains(key) && !structuredKeys.contains(key) {
            throw ConfigurationError.unknownKey(key, source: path)
        }
        return node
    }

    /// Sections read by their own parsers rather than key by key.
    private static let structuredKeys = AccessPolicyYAML.structuredKeys.union(RetentionYAML.structuredKeys).union(ProxyYAML.structuredKeys)
        .union(PolicyYAML.structuredKeys).union(EventsYAML.structuredKeys)

    private static func leafKeys(of node: Node, prefix: [String]) -> [String] {
        let dotted = prefix.joined(separator: ".")
        // Structured sections (access rules) are validated by their own parser.
        guard let mapping = node.mapping, !structuredKeys.contains(dotted) else { return [dotted] }
        return mapping.flatMap { key, value in leafKeys(of: value, prefix: prefix + [key.string ?? "?"]) }
    }
}
