import RegistryCore

extension ConfigurationKey {
    /// The single values of `quotas` and `rate_limits` (their lists have their own parsers:
    /// ``QuotaYAML``, ``RateLimitYAML``, ``ImmutableTagsYAML``).
    static let policyKeys: [ConfigurationKey] = [
        .init(path: ["quotas", "default"]) { config, value throws(ConfigurationError) in
            let limit = try ByteCountParser.parse(value, key: "quotas.default")
            config.quotas.defaultLimit = limit == 0 ? nil : limit
        },
        .init(path: ["quotas", "warn_percent"]) { config, value throws(ConfigurationError) in
            let trimmed = value.hasSuffix("%") ? String(value.dropLast()) : value
            guard let percent = Int(trimmed), (0...100).contains(percent) else {
                throw .invalidValue(key: "quotas.warn_percent", value: value, expected: "a percentage from 1 to 100, or 0 for no warning")
            }
            config.quotas.warnPercent = percent == 0 ? nil : percent
        },
        .init(path: ["rate_limits", "max_clients"]) { config, value throws(ConfigurationError) in
            guard let count = Int(value), count > 0 else {
                throw .invalidValue(key: "rate_limits.max_clients", value: value, expected: "a positive number of buckets")
            }
            config.rateLimits.maxClients = count
        },
    ] + RequestClass.allCases.flatMap(rateKeys)

    /// `rate_limits.<class>.rate` (`100/s`, `20/m`, `5000/h`; `off` for none) and
    /// `rate_limits.<class>.burst` (default: one second's worth, at least 1).
    private static func rateKeys(_ requestClass: RequestClass) -> [ConfigurationKey] {
        let name = requestClass.rawValue
        return [
            .init(path: ["rate_limits", name, "rate"]) { config, value throws(ConfigurationError) in
                let key = "rate_limits.\(name).rate"
                if ["off", "0", "none"].contains(value.lowercased()) {
                    config.rateLimits.set(nil, for: requestClass)
                    return
                }
                guard let limit = RateLimit(rate: value, burst: nil) else {
                    throw .invalidValue(key: key, value: value, expected: "requests per second, minute or hour, e.g. 100/s, 20/m or 5000/h")
                }
                config.rateLimits.set(limit, for: requestClass)
            },
            // After the rate (keys apply in this list's order).
            .init(path: ["rate_limits", name, "burst"]) { config, value throws(ConfigurationError) in
                let key = "rate_limits.\(name).burst"
                guard var limit = config.rateLimits.limit(for: requestClass) else {
                    throw .invalidValue(key: key, value: value, expected: "rate_limits.\(name).rate as well")
                }
                guard let burst = Int(value), burst >= 1 else {
                    throw .invalidValue(key: key, value: value, expected: "a number of requests, at least 1")
                }
                limit.burst = burst
                config.rateLimits.set(limit, for: requestClass)
            },
        ]
    }
}

extension RateLimitPolicy {
    mutating func set(_ limit: RateLimit?, for requestClass: RequestClass) {
        switch requestClass {
        case .pull: pull = limit
        case .push: push = limit
        case .other: other = limit
        }
    }
}
