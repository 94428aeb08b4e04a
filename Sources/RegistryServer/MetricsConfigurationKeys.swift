/// The `metrics.*` keys (``MetricsSettings``), kept out of the main list's literal, which the
/// type checker takes in pieces.
extension ConfigurationKey {
    static let metricsKeys: [ConfigurationKey] = [
        .init(path: ["metrics", "enabled"]) { config, value throws(ConfigurationError) in
            config.metrics.enabled = try BooleanParser.parse(value, key: "metrics.enabled")
        },
        .init(path: ["metrics", "listen"]) { config, value throws(ConfigurationError) in
            let (host, port) = try ListenAddress.parse(value, key: "metrics.listen")
            (config.metrics.host, config.metrics.port) = (host, port)
        },
        .init(path: ["metrics", "token"]) { config, value throws(ConfigurationError) in
            guard !value.isEmpty else { throw .invalidValue(key: "metrics.token", value: value, expected: "a non-empty token") }
            config.metrics.token = value
        },
        .init(path: ["metrics", "token_file"]) { config, value throws(ConfigurationError) in
            config.metrics.tokenFile = try ExistingFile.path(value, key: "metrics.token_file")
        },
        .init(path: ["metrics", "per_repository"]) { config, value throws(ConfigurationError) in
            config.metrics.perRepository = try BooleanParser.parse(value, key: "metrics.per_repository")
        },
        .init(path: ["metrics", "storage_refresh"]) { config, value throws(ConfigurationError) in
            config.metrics.storageRefresh = try OptionalDuration.parse(value, key: "metrics.storage_refresh")
        },
    ]
}
