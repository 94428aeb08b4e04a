import Foundation

/// The `metrics.*` section: whether `GET /metrics` is served, where, and to whom.
public struct MetricsSettings: Sendable, Equatable {
    /// On by default: counting costs a request a few atomic adds, and an operator expects
    /// `/metrics` on a server.
    public var enabled = true
    /// A listener of the metrics' own (`metrics.listen`), plain HTTP; nil serves `/metrics` on
    /// the registry's listener.
    public var host: String?
    public var port: Int?
    /// The bearer token a scrape must present (`metrics.token`, or read from `metrics.token_file`).
    public var token: String?
    public var tokenFile: String?
    /// Adds a `repository` label to the request and byte counters: one series per repository,
    /// so off by default.
    public var perRepository = false
    /// How long the storage gauges (read from the metadata database) are reused between scrapes;
    /// nil queries at every scrape.
    public var storageRefresh: Duration? = .seconds(5)

    public init() {}

    /// The token to require, from `token` or `tokenFile` (its first line, trimmed).
    func resolvedToken() throws -> String? {
        if token != nil, let tokenFile {
            throw ConfigurationError.invalidValue(
                key: "metrics.token_file", value: tokenFile, expected: "metrics.token or metrics.token_file, not both")
        }
        if let token { return token }
        guard let tokenFile else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: tokenFile, encoding: .utf8)
        } catch {
            throw ConfigurationError.unreadableFile(path: tokenFile, reason: "\(error.localizedDescription)")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard !token.isEmpty else {
            throw ConfigurationError.invalidValue(key: "metrics.token_file", value: tokenFile, expected: "a file whose first line is the token")
        }
        return token
    }
}
