import Foundation
import RegistryCore
import Yams

/// Reads `rate_limits.exempt_networks`; the rates, bursts and `max_clients` are single values
/// (``ConfigurationKey/policyKeys``):
///
/// ```yaml
/// rate_limits:
///   pull: {rate: 100/s, burst: 200}   # per client address and per user
///   push: {rate: 20/s, burst: 50}
///   other: {rate: 50/s, burst: 100}
///   exempt_networks: ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
///   max_clients: 100000               # buckets kept at most; idle, then oldest, dropped
/// ```
enum RateLimitYAML {
    static let structuredKeys: Set<String> = ["rate_limits.exempt_networks"]

    static func parseExemptNetworks(_ node: Node) throws(ConfigurationError) -> [NetworkRange] {
        let key = "rate_limits.exempt_networks"
        let values = node.sequence?.compactMap(\.string) ?? node.string.map { $0.split(separator: ",").map(String.init) } ?? []
        return try values.map { value throws(ConfigurationError) in
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            guard let range = NetworkRange(trimmed) else {
                throw .invalidValue(key: key, value: value, expected: "networks in CIDR notation, e.g. 10.0.0.0/8 or fd00::/8")
            }
            return range
        }
    }
}
