import Foundation
import Logging
import RegistryCore
import RegistryModel

/// Everything `registry serve` can be told, with the embedded defaults: listen on
/// 127.0.0.1:5000, store under `./data`, deletes enabled.
public struct RegistryConfiguration: Sendable, Equatable {
    public enum LogFormat: String, Sendable { case text, json }

    public var host = "127.0.0.1"
    public var port = 5000
    public var root = "./data"
    public var readOnly = false
    public var deletesEnabled = true
    /// `/readyz` answers 503 while the storage's file system has less free space than this.
    /// 1 GiB: on a laptop that is a few images' worth of warning before the disk is full, and
    /// no bother while the disk has room; `0` turns the check off.
    public var minimumFreeSpace: FreeSpaceFloor = .bytes(1 << 30)
    public var defaultPlatform = Platform(os: "linux", architecture: "amd64")
    public var uploadExpiry: Duration = .seconds(24 * 3600)
    public var idleTimeout: Duration = .seconds(60)
    public var logLevel: Logger.Level = .info
    public var logFormat: LogFormat = .text
    /// PEM certificate chain and key: with both, the registry serves HTTPS (HTTP/1.1 and HTTP/2).
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// PEM CA bundle for client certificates (mutual TLS).
    public var tlsClientCA: String?
    /// htpasswd file (bcrypt entries): with it, every endpoint requires a login.
    public var htpasswd: String?
    /// The realm in Basic challenges.
    public var authRealm = "registry"
    /// Who may do what; `anonymousPull` lives here too.
    public var accessPolicy = AccessPolicy()
    /// Token mode: the realm URL of the Bearer challenge (usually this registry's `/token`).
    public var tokenRealm: String?
    public var tokenService = "registry"
    public var tokenIssuer = "registry-token-issuer"
    public var tokenLifetime: Duration = .seconds(300)
    /// ES256 private key (PEM) of the built-in token endpoint; default `<root>/token-signing-key.pem`,
    /// created on first start.
    public var tokenSigningKey: String?
    /// ES256 public key (PEM) or JWKS file of an external token server whose tokens are accepted.
    public var tokenTrustedKey: String?
    public var tokenJWKS: String?
    /// Background garbage collection: how often (nil: never), and how.
    public var gcInterval: Duration? = .seconds(3600)
    public var gcGracePeriod: Duration = .seconds(3600)
    public var gcDeleteUntagged = false
    public var retention = RetentionPolicy()
    /// Background scrub: how often a full pass starts (nil: never), its rate, and whether it
    /// quarantines what it finds corrupt.
    public var scrubInterval: Duration?
    public var scrubRateMiBPerSecond = 16
    public var scrubRepair = false
    /// Whether each background pass also verifies the diff_ids of layers not verified before
    /// (decompressing them at the same rate) and records their uncompressed sizes.
    public var scrubDiffIDs = false
    /// Upstream registries served as pull-through caches.
    public var proxies: [ProxyConfiguration] = []
    public var proxyRevalidate: Duration = .seconds(300)
    /// Size budget of the cache's blobs, in bytes; nil for none.
    public var proxyMaxBytes: Int64?
    /// A cached image served this recently counts as being pulled: the budget never evicts it.
    public var proxyInUseWindow: Duration = .seconds(60)

    /// Where the metadata lives: SQLite under the root (one machine), or PostgreSQL (several
    /// replicas sharing one database).
    public var metadata = MetadataSettings()
    /// Where blob bytes live: files under the root, or an S3-compatible bucket.
    public var blobStorage = BlobStorageSettings()
    /// `events`: webhook endpoints of event notifications (see ``EventSettings``).
    public var events = EventSettings()
    /// `metrics`: the Prometheus endpoint (see ``MetricsSettings``).
    public var metrics = MetricsSettings()
    /// `immutable_tags`: tags that may not move or go (see ``ImmutableTagsYAML``).
    public var immutableTags = ImmutableTagRules()
    /// `quotas`: byte limits per repository (see ``QuotaYAML``).
    public var quotas = StorageQuotas()
    /// `rate_limits`: token buckets per client address and user (see ``RateLimitYAML``).
    public var rateLimits = RateLimitPolicy()
    /// `audit`: the audit log (see ``AuditSettings``).
    public var audit = AuditSettings()
    /// Whether `/` and `/ui/` serve the web UI (`ui.enabled`).
    public var uiEnabled = true
    /// A file whose bytes key the UI's session cookies (`ui.session_key_file`): replicas that
    /// share it share sign-ins. Without it each process makes a random key.
    public var uiSessionKeyFile: String?
    /// `auth.robots`: nil (the default) signs robot accounts in wherever logins are configured;
    /// true also turns logins on when nothing else does (a registry only robots sign in to);
    /// false refuses robot logins.
    public var robots: Bool?

    public init() {}

    var garbageCollectionOptions: GarbageCollector.Options {
        var options = GarbageCollector.Options(gracePeriod: gcGracePeriod, deleteUntagged: gcDeleteUntagged, retention: retention)
        options.immutableTags = immutableTags
        return options
    }

    var registryOptions: RegistryOptions {
        var options = RegistryOptions(
            deletesEnabled: deletesEnabled, readOnly: readOnly, defaultPlatform: defaultPlatform,
            uploadExpiry: uploadExpiry, minimumFreeSpace: minimumFreeSpace,
            blobRedirectLifetime: blobStorage.driver == .s3 && blobStorage.redirect ? blobStorage.redirectLifetime : nil)
        options.immutableTags = immutableTags
        options.quotas = quotas
        return options
    }
}

/// A configuration key, its spellings in the YAML file and the environment, and how its value
/// is applied. The single list of what may be configured: unknown keys are rejected against it.
struct ConfigurationKey: Sendable {
    let path: [String]
    let apply: @Sendable (inout RegistryConfiguration, String) throws(ConfigurationError) -> Void

    var dotted: String { path.joined(separator: ".") }
    var environmentName: String { "REGISTRY_" + path.joined(separator: "_").uppercased() }

    static let all: [ConfigurationKey] = [
        .init(path: ["http", "listen"]) { config, value throws(ConfigurationError) in
            (config.host, config.port) = try ListenAddress.parse(value, key: "http.listen")
        },
        .init(path: ["http", "idle_timeout"]) { config, value throws(ConfigurationError) in
            config.idleTimeout = try DurationParser.parse(value, key: "http.idle_timeout")
        },
        .init(path: ["storage", "root"]) { config, value throws(ConfigurationError) in
            guard !value.isEmpty else { throw .invalidValue(key: "storage.root", value: value, expected: "a directory path") }
            config.root = value
        },
        .init(path: ["storage", "read_only"]) { config, value throws(ConfigurationError) in
            config.readOnly = try BooleanParser.parse(value, key: "storage.read_only")
        },
        .init(path: ["storage", "delete_enabled"]) { config, value throws(ConfigurationError) in
            config.deletesEnabled = try BooleanParser.parse(value, key: "storage.delete_enabled")
        },
        .init(path: ["storage", "min_free"]) { config, value throws(ConfigurationError) in
            config.minimumFreeSpace = try FreeSpaceFloorParser.parse(value, key: "storage.min_free")
        },
        .init(path: ["storage", "driver"]) { config, value throws(ConfigurationError) in
            guard let driver = BlobStorageSettings.Driver(rawValue: value.lowercased()) else {
                throw .invalidValue(key: "storage.driver", value: value, expected: "filesystem or s3")
            }
            config.blobStorage.driver = driver
        },
        .init(path: ["storage", "s3", "endpoint"]) { config, value throws(ConfigurationError) in
            guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                throw .invalidValue(key: "storage.s3.endpoint", value: value, expected: "http(s)://host[:port]")
            }
            config.blobStorage.endpoint = value
        },
        .init(path: ["storage", "s3", "region"]) { config, value throws(ConfigurationError) in
            config.blobStorage.region = value
        },
        .init(path: ["storage", "s3", "bucket"]) { config, value throws(ConfigurationError) in
            guard value.utf8.count >= 3 else { throw .invalidValue(key: "storage.s3.bucket", value: value, expected: "a bucket name") }
            config.blobStorage.bucket = value
        },
        .init(path: ["storage", "s3", "prefix"]) { config, value throws(ConfigurationError) in
            config.blobStorage.prefix = value
        },
        .init(path: ["storage", "s3", "path_style"]) { config, value throws(ConfigurationError) in
            config.blobStorage.pathStyle = try BooleanParser.parse(value, key: "storage.s3.path_style")
        },
        .init(path: ["storage", "s3", "access_key"]) { config, value throws(ConfigurationError) in
            config.blobStorage.accessKey = value
        },
        .init(path: ["storage", "s3", "secret_key"]) { config, value throws(ConfigurationError) in
            config.blobStorage.secretKey = value
        },
        .init(path: ["storage", "s3", "secret_key_file"]) { config, value throws(ConfigurationError) in
            config.blobStorage.secretKeyFile = try ExistingFile.path(value, key: "storage.s3.secret_key_file")
        },
        .init(path: ["storage", "s3", "ca"]) { config, value throws(ConfigurationError) in
            config.blobStorage.ca = try ExistingFile.path(value, key: "storage.s3.ca")
        },
        .init(path: ["storage", "redirect"]) { config, value throws(ConfigurationError) in
            config.blobStorage.redirect = try BooleanParser.parse(value, key: "storage.redirect")
        },
        .init(path: ["storage", "s3", "part_size"]) { config, value throws(ConfigurationError) in
            let size = try ByteCountParser.parse(value, key: "storage.s3.part_size")
            guard (Int64(5 << 20)...Int64(1 << 30)).contains(size) else {
                throw .invalidValue(key: "storage.s3.part_size", value: value, expected: "5MiB to 1GiB")
            }
            config.blobStorage.partSize = size
        },
        .init(path: ["metadata", "driver"]) { config, value throws(ConfigurationError) in
            guard let driver = MetadataSettings.Driver(rawValue: value.lowercased()) else {
                throw .invalidValue(key: "metadata.driver", value: value, expected: "sqlite or postgres")
            }
            config.metadata.driver = driver
        },
        .init(path: ["metadata", "url"]) { config, value throws(ConfigurationError) in
            guard value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") else {
                throw .invalidValue(key: "metadata.url", value: value, expected: "postgres://USER@HOST:PORT/DATABASE")
            }
            config.metadata.url = value
        },
        .init(path: ["metadata", "password"]) { config, value throws(ConfigurationError) in
            config.metadata.password = value
        },
        .init(path: ["metadata", "password_file"]) { config, value throws(ConfigurationError) in
            config.metadata.passwordFile = try ExistingFile.path(value, key: "metadata.password_file")
        },
        .init(path: ["metadata", "pool_size"]) { config, value throws(ConfigurationError) in
            guard let size = Int(value), (1...1000).contains(size) else {
                throw .invalidValue(key: "metadata.pool_size", value: value, expected: "connections per process, 1 to 1000")
            }
            config.metadata.poolSize = size
        },
        .init(path: ["metadata", "schema"]) { config, value throws(ConfigurationError) in
            config.metadata.schema = value
        },
        .init(path: ["metadata", "tls"]) { config, value throws(ConfigurationError) in
            guard let mode = MetadataSettings.TLSMode(rawValue: value.lowercased()) else {
                throw .invalidValue(key: "metadata.tls", value: value, expected: "disable, prefer, require or verify-full")
            }
            config.metadata.tls = mode
        },
        .init(path: ["manifests", "default_platform"]) { config, value throws(ConfigurationError) in
            guard let platform = Platform(parsing: value) else {
                throw .invalidValue(key: "manifests.default_platform", value: value, expected: "os/arch[/variant], e.g. linux/amd64")
            }
            config.defaultPlatform = platform
        },
        .init(path: ["uploads", "expiry"]) { config, value throws(ConfigurationError) in
            config.uploadExpiry = try DurationParser.parse(value, key: "uploads.expiry")
        },
        .init(path: ["tls", "certificate"]) { config, value throws(ConfigurationError) in
            config.tlsCertificate = try ExistingFile.path(value, key: "tls.certificate")
        },
        .init(path: ["tls", "key"]) { config, value throws(ConfigurationError) in
            config.tlsKey = try ExistingFile.path(value, key: "tls.key")
        },
        .init(path: ["tls", "client_ca"]) { config, value throws(ConfigurationError) in
            config.tlsClientCA = try ExistingFile.path(value, key: "tls.client_ca")
        },
        .init(path: ["auth", "htpasswd"]) { config, value throws(ConfigurationError) in
            config.htpasswd = try ExistingFile.path(value, key: "auth.htpasswd")
        },
        .init(path: ["auth", "anonymous_pull"]) { config, value throws(ConfigurationError) in
            config.accessPolicy.anonymousPull = try BooleanParser.parse(value, key: "auth.anonymous_pull")
        },
        .init(path: ["auth", "realm"]) { config, value throws(ConfigurationError) in
            config.authRealm = value
        },
        .init(path: ["auth", "token", "realm"]) { config, value throws(ConfigurationError) in
            guard value.hasPrefix("https://") || value.hasPrefix("http://") else {
                throw .invalidValue(key: "auth.token.realm", value: value, expected: "an http(s) URL, e.g. https://registry.example.com/token")
            }
            config.tokenRealm = value
        },
        .init(path: ["auth", "token", "service"]) { config, value throws(ConfigurationError) in
            config.tokenService = value
        },
        .init(path: ["auth", "token", "issuer"]) { config, value throws(ConfigurationError) in
            config.tokenIssuer = value
        },
        .init(path: ["auth", "token", "lifetime"]) { config, value throws(ConfigurationError) in
            config.tokenLifetime = try DurationParser.parse(value, key: "auth.token.lifetime")
        },
        .init(path: ["auth", "token", "signing_key"]) { config, value throws(ConfigurationError) in
            config.tokenSigningKey = value
        },
        .init(path: ["auth", "token", "trusted_key"]) { config, value throws(ConfigurationError) in
            config.tokenTrustedKey = try ExistingFile.path(value, key: "auth.token.trusted_key")
        },
        .init(path: ["auth", "token", "jwks"]) { config, value throws(ConfigurationError) in
            config.tokenJWKS = try ExistingFile.path(value, key: "auth.token.jwks")
        },
        .init(path: ["auth", "robots"]) { config, value throws(ConfigurationError) in
            config.robots = try BooleanParser.parse(value, key: "auth.robots")
        },
        .init(path: ["audit", "enabled"]) { config, value throws(ConfigurationError) in
            config.audit.enabled = try BooleanParser.parse(value, key: "audit.enabled")
        },
        .init(path: ["audit", "retention"]) { config, value throws(ConfigurationError) in
            config.audit.retention = try DurationParser.parse(value, key: "audit.retention")
        },
        .init(path: ["gc", "interval"]) { config, value throws(ConfigurationError) in
            config.gcInterval = try OptionalDuration.parse(value, key: "gc.interval")
        },
        .init(path: ["gc", "grace_period"]) { config, value throws(ConfigurationError) in
            config.gcGracePeriod = try DurationParser.parse(value, key: "gc.grace_period")
        },
        .init(path: ["gc", "delete_untagged"]) { config, value throws(ConfigurationError) in
            config.gcDeleteUntagged = try BooleanParser.parse(value, key: "gc.delete_untagged")
        },
        .init(path: ["retention", "dry_run"]) { config, value throws(ConfigurationError) in
            config.retention.dryRun = try BooleanParser.parse(value, key: "retention.dry_run")
        },
        .init(path: ["scrub", "interval"]) { config, value throws(ConfigurationError) in
            config.scrubInterval = try OptionalDuration.parse(value, key: "scrub.interval")
        },
        .init(path: ["scrub", "rate"]) { config, value throws(ConfigurationError) in
            guard let rate = Int(value.lowercased().replacingOccurrences(of: "mib/s", with: "")), rate > 0 else {
                throw .invalidValue(key: "scrub.rate", value: value, expected: "MiB per second, e.g. 16")
            }
            config.scrubRateMiBPerSecond = rate
        },
        .init(path: ["proxy", "revalidate"]) { config, value throws(ConfigurationError) in
            config.proxyRevalidate = try DurationParser.parse(value, key: "proxy.revalidate")
        },
        .init(path: ["proxy", "max_bytes"]) { config, value throws(ConfigurationError) in
            config.proxyMaxBytes = try ByteCountParser.parse(value, key: "proxy.max_bytes")
        },
        .init(path: ["events", "max_age"]) { config, value throws(ConfigurationError) in
            config.events.maxAge = try DurationParser.parse(value, key: "events.max_age")
        },
        .init(path: ["events", "source"]) { config, value throws(ConfigurationError) in
            guard !value.isEmpty else { throw .invalidValue(key: "events.source", value: value, expected: "a URI reference naming this registry") }
            config.events.source = value
        },
        .init(path: ["scrub", "repair"]) { config, value throws(ConfigurationError) in
            config.scrubRepair = try BooleanParser.parse(value, key: "scrub.repair")
        },
        .init(path: ["scrub", "diff_ids"]) { config, value throws(ConfigurationError) in
            config.scrubDiffIDs = try BooleanParser.parse(value, key: "scrub.diff_ids")
        },
        .init(path: ["log", "level"]) { config, value throws(ConfigurationError) in
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                throw .invalidValue(key: "log.level", value: value, expected: "trace, debug, info, notice, warning, error or critical")
            }
            config.logLevel = level
        },
        .init(path: ["log", "format"]) { config, value throws(ConfigurationError) in
            guard let format = RegistryConfiguration.LogFormat(rawValue: value.lowercased()) else {
                throw .invalidValue(key: "log.format", value: value, expected: "text or json")
            }
            config.logFormat = format
        },
        .init(path: ["ui", "enabled"]) { config, value throws(ConfigurationError) in
            config.uiEnabled = try BooleanParser.parse(value, key: "ui.enabled")
        },
        .init(path: ["ui", "session_key_file"]) { config, value throws(ConfigurationError) in
            config.uiSessionKeyFile = try ExistingFile.path(value, key: "ui.session_key_file")
        },
    ] + policyKeys + metricsKeys
}

/// Why the configuration was refused. Each case names the offending key.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unknownKey(String, source: String)
    case invalidValue(key: String, value: String, expected: String)
    case unreadableFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKey(let key, let source):
            "unknown configuration key \"\(key)\" in \(source)"
        case .invalidValue(let key, let value, let expected):
            "invalid value \"\(value)\" for \(key): expected \(expected)"
        case .unreadableFile(let path, let reason):
            "cannot read configuration file \(path): \(reason)"
        }
    }
}

enum ListenAddress {
    static func parse(_ value: String, key: String) throws(ConfigurationError) -> (String, Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
              (0...65535).contains(port)
        else { throw .invalidValue(key: key, value: value, expected: "HOST:PORT, e.g. 127.0.0.1:5000") }
        var host = String(value[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

enum ExistingFile {
    static func path(_ value: String, key: String) throws(ConfigurationError) -> String {
        guard FileManager.default.isReadableFile(atPath: value) else {
            throw .invalidValue(key: key, value: value, expected: "a readable file")
        }
        return value
    }
}

enum BooleanParser {
    static func parse(_ value: String, key: String) throws(ConfigurationError) -> Bool {
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw .invalidValue(key: key, value: value, expected: "true or false")
        }
    }
}

/// A size as ``ByteCountParser`` reads it (`1GiB`, `512MiB`, `0` for none), or a share of the
/// file system (`5%`).
enum FreeSpaceFloorParser {
    static func parse(_ value: String, key: String) throws(ConfigurationError) -> FreeSpaceFloor {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasSuffix("%") else { return .bytes(try ByteCountParser.parse(trimmed, key: key)) }
        guard let percent = Double(trimmed.dropLast().trimmingCharacters(in: .whitespaces)), (0...100).contains(percent) else {
            throw .invalidValue(key: key, value: value, expected: "a size such as 1GiB or 512MiB, a share such as 5%, or 0 for no check")
        }
        return .percent(percent)
    }
}

/// A duration, or `off` (also `0`, `never`) for a periodic task that must not run.
enum OptionalDuration {
    static func parse(_ value: String, key: String) throws(ConfigurationError) -> Duration? {
        if ["off", "0", "never", "false"].contains(value.lowercased()) { return nil }
        return try DurationParser.parse(value, key: key)
    }
}

/// Durations as `90`, `90s`, `15m`, `24h` or `7d`.
enum DurationParser {
    static func parse(_ value: String, key: String) throws(ConfigurationError) -> Duration {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        var number = Substring(value.trimmingCharacters(in: .whitespaces))
        var multiplier: Int64 = 1
        if let last = number.last, let unit = units[last] {
            multiplier = unit
            number = number.dropLast()
        }
        // Overflowing Int64 seconds is refused like any other unusable value, never a trap.
        guard let amount = Int64(number), amount > 0, case let (seconds, false) = amount.multipliedReportingOverflow(by: multiplier) else {
            throw .invalidValue(key: key, value: value, expected: "a positive duration such as 90s, 15m, 24h or 7d")
        }
        return .seconds(seconds)
    }
}
