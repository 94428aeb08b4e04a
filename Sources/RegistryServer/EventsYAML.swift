import Foundation
import NIOSSL
import RegistryCore
import Yams

/// Event notification settings: where events go (`events.endpoints`, read by ``EventsYAML``),
/// how long an undelivered one is kept (`events.max_age`), and the CloudEvents `source`
/// (`events.source`).
public struct EventSettings: Sendable, Equatable {
    public var endpoints: [EventEndpoint] = []
    public var maxAge: Duration = .seconds(24 * 3600)
    /// Names this registry in every event; defaults to `//<host name>/registry`.
    public var source: String?

    public init() {}

    var resolvedSource: String { source ?? "//\(ProcessInfo.processInfo.hostName)/registry" }
}

/// Reads `events.endpoints`, a list of receivers:
///
/// ```yaml
/// events:
///   max_age: 24h
///   endpoints:
///     - name: ci                          # names its delivery cursor; unique
///       url: https://ci.example/hook
///       actions: [push, delete]           # push, pull, delete, mount, cache, quota; all when absent
///       repositories: ["team/**"]         # globs; all when absent
///       headers: {Authorization: "Bearer abc"}
///       secret_file: /etc/registry/hook-secret   # HMAC-SHA256 key of X-Registry-Signature
///       timeout: 5s                       # per attempt (default 10s)
///       ca_file: /etc/registry/hooks-ca.pem      # a private CA to trust for the receiver's certificate
/// ```
enum EventsYAML {
    static let structuredKeys: Set<String> = ["events.endpoints"]

    private static let fields: Set<String> = ["name", "url", "actions", "repositories", "headers", "secret_file", "timeout", "ca_file"]

    static func parse(_ endpoints: Node) throws(ConfigurationError) -> [EventEndpoint] {
        guard let list = endpoints.sequence else {
            throw .invalidValue(key: "events.endpoints", value: "\(endpoints)", expected: "a list of endpoints")
        }
        var parsed: [EventEndpoint] = []
        for (index, node) in list.enumerated() {
            let endpoint = try parseEndpoint(node, key: "events.endpoints[\(index)]")
            guard !parsed.contains(where: { $0.name == endpoint.name }) else {
                throw .invalidValue(key: "events.endpoints[\(index)].name", value: endpoint.name, expected: "a name no other endpoint has")
            }
            parsed.append(endpoint)
        }
        return parsed
    }

    private static func parseEndpoint(_ node: Node, key: String) throws(ConfigurationError) -> EventEndpoint {
        guard let mapping = node.mapping else {
            throw .invalidValue(key: key, value: "\(node)", expected: "a map with name, url and optional filters")
        }
        for field in mapping.keys.compactMap(\.string) where !fields.contains(field) {
            throw .unknownKey("\(key).\(field)", source: "the event endpoints")
        }
        guard let name = mapping["name"]?.string, !name.isEmpty else {
            throw .invalidValue(key: "\(key).name", value: "", expected: "a name for the endpoint")
        }
        guard let url = mapping["url"]?.string, let scheme = URL(string: url)?.scheme?.lowercased(),
              ["http", "https"].contains(scheme), URL(string: url)?.host != nil
        else {
            throw .invalidValue(key: "\(key).url", value: mapping["url"]?.string ?? "", expected: "an http:// or https:// URL")
        }
        var endpoint = EventEndpoint(name: name, url: url)
        if let actions = mapping["actions"] {
            for value in try strings(actions, key: "\(key).actions") {
                guard let action = EventAction(rawValue: value.lowercased()) else {
                    throw .invalidValue(key: "\(key).actions", value: value, expected: "push, pull, delete, mount, cache or quota")
                }
                endpoint.filter.actions.insert(action)
            }
        }
        if let repositories = mapping["repositories"] {
            endpoint.filter.repositories = try strings(repositories, key: "\(key).repositories").map(RepositoryPattern.init)
        }
        if let headers = mapping["headers"] {
            guard let pairs = headers.mapping else {
                throw .invalidValue(key: "\(key).headers", value: "\(headers)", expected: "a map of header names to values")
            }
            for (name, value) in pairs {
                guard let name = name.string, !name.isEmpty, let value = value.string else {
                    throw .invalidValue(key: "\(key).headers", value: "\(headers)", expected: "a map of header names to values")
                }
                endpoint.headers[name] = value
            }
        }
        if let file = mapping["secret_file"]?.string {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .invalidValue(key: "\(key).secret_file", value: file, expected: "a readable file")
            }
            // A trailing newline (as `echo` writes) is not part of the secret.
            let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            guard !secret.isEmpty else {
                throw .invalidValue(key: "\(key).secret_file", value: file, expected: "a file holding the secret")
            }
            endpoint.secret = Array(secret.utf8)
        }
        if let value = mapping["timeout"]?.string {
            endpoint.timeout = try DurationParser.parse(value, key: "\(key).timeout")
        }
        if let file = mapping["ca_file"]?.string {
            guard let certificates = try? NIOSSLCertificate.fromPEMFile(file), !certificates.isEmpty else {
                throw .invalidValue(key: "\(key).ca_file", value: file, expected: "a readable PEM file of CA certificates")
            }
            endpoint.trustedCertificates = certificates
        }
        return endpoint
    }

    /// A list of strings, or one string as a list of one.
    private static func strings(_ node: Node, key: String) throws(ConfigurationError) -> [String] {
        if let single = node.string { return [single] }
        guard let list = node.sequence else { throw .invalidValue(key: key, value: "\(node)", expected: "a list") }
        var values: [String] = []
        for item in list {
            guard let value = item.string else { throw .invalidValue(key: key, value: "\(item)", expected: "a list of strings") }
            values.append(value)
        }
        return values
    }
}
