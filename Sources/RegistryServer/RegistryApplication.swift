import Foundation
import Logging
import NIOCore
import RegistryCore
import RegistryHTTP
import RegistryImages
import RegistryModel
import RegistryStorage
import ServiceLifecycle
import UnixSignals
import SystemPackage

/// `registry serve`: opens the storage root, runs the HTTP server and the upload janitor, and
/// on graceful shutdown stops accepting, lets requests in flight finish, and closes the database.
public final class RegistryApplication: Service {
    public let configuration: RegistryConfiguration
    private let logger: Logger
    private let onBound: @Sendable (SocketAddress) -> Void

    public init(configuration: RegistryConfiguration, logger: Logger, onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.configuration = configuration
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let layout = StorageLayout(root: FilePath(configuration.root))
        let readOnly = configuration.readOnly
        if readOnly {
            guard configuration.metadata.driver != .sqlite || FileManager.default.fileExists(atPath: layout.metadataDatabase.string) else {
                throw StartupError.noRegistryRoot(configuration.root)
            }
        } else if configuration.metadata.driver == .sqlite {
            // The database's directory, whatever holds the blobs.
            try FileManager.default.createDirectory(atPath: configuration.root, withIntermediateDirectories: true)
        }
        let storage = try await BlobStorage.open(configuration, prepare: !readOnly)
        let blobs = storage.blobs
        let metadata: Metadata
        do {
            metadata = try await MetadataOpening.open(configuration, readOnly: readOnly, logger: logger)
        } catch {
            try? await storage.shutdown()
            throw error
        }
        do {
            let uses = readOnly ? nil : UseRecorder(metadata: metadata)
            let metrics = MetricsServing.metrics(for: configuration.metrics)
            // A read-only registry changes nothing and cannot write an outbox.
            let events = readOnly ? nil : configuration.makeEventNotifications(outbox: metadata, jobs: metadata, logger: logger, metrics: metrics)
            let registry = Registry(
                metadata: metadata, blobs: storage.blobs, uploads: storage.uploads, options: configuration.registryOptions, logger: logger,
                uses: uses,
                proxy: try configuration.makePullThroughCache(store: metadata, blobs: blobs, logger: logger),
                metrics: metrics, events: events?.recorder)
            var lifecycle: Lifecycle?
            if !readOnly {
                try await registry.removeOrphanUploadFiles()
                lifecycle = Lifecycle(
                    uses: uses!,
                    garbageCollection: GarbageCollectionService(
                        collector: GarbageCollector(metadata: metadata, blobs: blobs, events: events?.recorder, logger: logger),
                        options: configuration.garbageCollectionOptions, jobs: metadata, metrics: metrics),
                    scrubber: Scrubber(metadata: metadata, blobs: blobs, logger: logger),
                    events: events,
                    audit: configuration.audit.enabled
                        ? (AuditRecorder(store: metadata, logger: logger),
                           AuditPruner(store: metadata, jobs: metadata, retention: configuration.audit.retention, logger: logger))
                        : nil)
            }
            var failure: (any Error)?
            do {
                try await serve(registry, jobs: metadata, storageTotals: metadata, accounts: metadata, lifecycle: lifecycle)
            } catch {
                // A stop may end serving with a CancellationError (whichever child task ends
                // first decides): what is queued is written all the same.
                failure = error
            }
            await Self.writeQueued(uses: uses, events: events, logger: logger)
            if let failure { throw failure }
        } catch {
            try? await metadata.close()
            try? await storage.shutdown()
            throw error
        }
        try await metadata.close()
        try await storage.shutdown()
        logger.info("stopped")
    }

    /// The background side of storage lifecycle, for a registry that can write.
    private struct Lifecycle {
        var uses: UseRecorder
        var garbageCollection: GarbageCollectionService
        var scrubber: Scrubber
        /// Event notifications: queued events written, the outbox delivered; nil without endpoints.
        var events: EventNotifications?
        /// The audit log: recorded requests written in batches, old ones pruned; nil when off.
        var audit: (recorder: AuditRecorder, pruner: AuditPruner)?
    }

    private func serve(
        _ registry: Registry, jobs: any ExclusiveJobs, storageTotals: any StorageTotalsSource, accounts: any RobotAccountStore,
        lifecycle: Lifecycle?
    ) async throws {
        let tls = try configuration.tlsCertificate.map { certificate in
            try TLSContextStore(settings: TLSSettings(
                certificatePath: certificate, privateKeyPath: configuration.tlsKey ?? "",
                clientCAPath: configuration.tlsClientCA))
        }
        let metrics = try MetricsServing(
            configuration.metrics, metrics: registry.metrics, storage: storageTotals,
            registry: RegistryResponder(
                registry: registry, access: try await accessControl(metrics: registry.metrics, robots: accounts),
                garbageCollection: lifecycle?.garbageCollection, logger: logger,
                rateLimiter: configuration.rateLimits.isEmpty ? nil : RateLimiter(policy: configuration.rateLimits, metrics: registry.metrics),
                audit: lifecycle?.audit?.recorder, ui: configuration.uiEnabled, sessions: try uiSessions(),
                secureCookies: configuration.tlsCertificate != nil),
            logger: logger)
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(
                host: configuration.host, port: configuration.port,
                idleTimeout: .seconds(configuration.idleTimeout.components.seconds)),
            responder: metrics.responder,
            logger: logger,
            tls: tls,
            observer: metrics.observer)
        logger.info("starting", metadata: [
            "root": "\(configuration.root)", "metadata": "\(configuration.metadata.driver.rawValue)", "storage": "\(configuration.blobStorage.driver.rawValue)", "read_only": "\(configuration.readOnly)",
            "deletes": "\(configuration.deletesEnabled)", "tls": "\(tls != nil)",
        ])
        let onBound = self.onBound
        let logger = self.logger
        let janitorInterval = Self.janitorInterval(for: configuration.uploadExpiry)
        let readOnly = configuration.readOnly
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run(onBound: onBound) }
                if let metricsServer = metrics.server {
                    group.addTask { try await metricsServer.run() }
                }
                // A read-only registry has no uploads to expire.
                if !readOnly {
                    group.addTask { await Self.expireUploadsPeriodically(registry, jobs: jobs, every: janitorInterval, logger: logger) }
                }
                if let tls {
                    group.addTask { await Self.reloadCertificatesOnSIGHUP(tls, logger: logger) }
                }
                if let lifecycle {
                    group.addTask { await Self.recordUsesPeriodically(lifecycle.uses, logger: logger) }
                    if let audit = lifecycle.audit {
                        group.addTask { await audit.recorder.run() }
                        group.addTask { await audit.pruner.run() }
                    }
                    if let events = lifecycle.events {
                        group.addTask { await events.run() }
                    }
                    if let interval = configuration.gcInterval {
                        group.addTask { await Self.collectGarbagePeriodically(lifecycle.garbageCollection, every: interval, logger: logger) }
                    }
                    if let interval = configuration.scrubInterval {
                        let rate = Int64(configuration.scrubRateMiBPerSecond) << 20
                        let options = Scrubber.Options(repair: configuration.scrubRepair, bytesPerSecond: rate)
                        let diffIDs = configuration.scrubDiffIDs
                            ? DiffIDScrub(source: RootImageSource(registry: registry, location: "registry"), bytesPerSecond: rate) : nil
                        group.addTask {
                            await Self.scrubPeriodically(lifecycle.scrubber, options, diffIDs: diffIDs, jobs: jobs, every: interval, logger: logger)
                        }
                    }
                }
                // The server returns once it has shut down; the janitor goes with it.
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            logger.info("shutting down")
            server.shutdown()
            metrics.server?.shutdown()
        }
    }

    /// One process at a time among those sharing the metadata expires sessions; the others skip
    /// their turn.
    private static func expireUploadsPeriodically(_ registry: Registry, jobs: any ExclusiveJobs, every interval: Duration, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { break }
            do {
                let removed = try await jobs.runExclusively("upload-expiry") { try await registry.expireUploads() } ?? 0
                if removed > 0 { logger.info("expired upload sessions", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("upload expiry failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The UI's session keys: from `ui.session_key_file`, or random for this process.
    private func uiSessions() throws -> UISessions {
        guard let path = configuration.uiSessionKeyFile else { return UISessions() }
        guard let contents = FileManager.default.contents(atPath: path), !contents.isEmpty else {
            throw ConfigurationError.invalidValue(key: "ui.session_key_file", value: path, expected: "a readable, non-empty file")
        }
        return UISessions(keyFile: Array(contents))
    }

    /// Writes what is queued in memory (tag pulls, pending events) once serving ended, in a task
    /// of its own: a stop cancels the serving task, and SQLite refuses work from a cancelled task.
    private static func writeQueued(uses: UseRecorder?, events: EventNotifications?, logger: Logger) async {
        await Task {
            do {
                try await uses?.flush()
            } catch {
                logger.warning("recording pulls failed at shutdown", metadata: ["error": "\(error)"])
            }
            await events?.finish()
        }.value
    }

    /// Writes pulls and blob uses once a second (retention and GC read them).
    private static func recordUsesPeriodically(_ uses: UseRecorder, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            do {
                try await uses.flush()
            } catch {
                logger.warning("recording pulls failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private static func collectGarbagePeriodically(_ service: GarbageCollectionService, every interval: Duration, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { break }
            do {
                _ = try await service.collect()
            } catch let error as RegistryError where error.code == .tooManyRequests {
                logger.debug("garbage collection skipped: one is running", metadata: ["reason": "\(error.message)"])
            } catch {
                logger.warning("garbage collection failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// A full, rate-limited pass every `interval` (counted from the end of the previous one).
    private static func scrubPeriodically(
        _ scrubber: Scrubber, _ options: Scrubber.Options, diffIDs: DiffIDScrub?, jobs: any ExclusiveJobs, every interval: Duration,
        logger: Logger
    ) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { break }
            do {
                guard let (report, layers) = try await jobs.runExclusively("scrub", {
                    (try await scrubber.scrub(options), try await diffIDs?.run())
                }) else {
                    logger.debug("scrub skipped: another process is scrubbing")
                    continue
                }
                if let layers { Self.log(layers, logger: logger) }
                let metadata: Logger.Metadata = [
                    "checked": "\(report.checked)", "corrupt": "\(report.corrupt.count)", "missing": "\(report.missing.count)",
                    "dangling": "\(report.dangling.count)", "unrecorded": "\(report.unrecorded.count)",
                ]
                if report.isClean {
                    logger.info("scrub finished", metadata: metadata)
                } else {
                    logger.error("scrub found damage", metadata: metadata)
                }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("scrub failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private static func log(_ report: DiffIDScrub.Report, logger: Logger) {
        let metadata: Logger.Metadata = [
            "verified": "\(report.layersVerified)", "verified_before": "\(report.layersAlreadyVerified)",
            "bytes_read": "\(report.compressedBytesRead)", "problems": "\(report.problems.count)",
        ]
        if report.isClean {
            logger.info("diff_id scrub finished", metadata: metadata)
        } else {
            for problem in report.problems {
                logger.error("layer not ok", metadata: [
                    "repository": "\(problem.repository)", "tag": "\(problem.tag)", "layer": "\(problem.layer.digest)",
                    "outcome": "\(problem.layer.outcome.rawValue)",
                ])
            }
            logger.error("diff_id scrub found damage", metadata: metadata)
        }
    }

    /// Access control: logins and rights when any are configured (an htpasswd file, client
    /// certificates, or token mode), otherwise the explicit allow-all policy.
    /// `auth.robots: true` turns logins on by itself (only robots and certificates sign in);
    /// robots never sign in to an open registry, where they would add nothing.
    private func accessControl(metrics: RegistryMetrics, robots: any RobotAccountStore) async throws -> AccessControl {
        guard configuration.htpasswd != nil || configuration.tlsClientCA != nil || configuration.tokenRealm != nil
            || configuration.robots == true
        else {
            return .allowAll
        }
        var access = AccessControl(
            htpasswd: try configuration.htpasswd.map { try Htpasswd(path: $0) },
            policy: configuration.accessPolicy, throttle: LoginThrottle(metrics: metrics), realm: configuration.authRealm,
            tokens: try await tokenAuthority())
        if configuration.robots != false { access.robots = RobotAccounts(store: robots) }
        return access
    }

    private func tokenAuthority() async throws -> TokenAuthority? {
        guard let realm = configuration.tokenRealm else { return nil }
        let keyPath = configuration.tokenSigningKey ?? configuration.root + "/token-signing-key.pem"
        if !FileManager.default.fileExists(atPath: keyPath) {
            // First start: make the built-in issuer's key, readable by this user only.
            FileManager.default.createFile(
                atPath: keyPath, contents: Data(TokenAuthority.makeSigningKeyPEM().utf8), attributes: [.posixPermissions: 0o600])
            logger.info("created the token signing key", metadata: ["path": "\(keyPath)"])
        }
        return try await TokenAuthority(
            settings: .init(
                realm: realm, service: configuration.tokenService, issuer: configuration.tokenIssuer,
                lifetime: configuration.tokenLifetime),
            signingKeyPEM: String(contentsOfFile: keyPath, encoding: .utf8),
            trustedPublicKeysPEM: try configuration.tokenTrustedKey.map { [try String(contentsOfFile: $0, encoding: .utf8)] } ?? [],
            jwks: try configuration.tokenJWKS.map { try String(contentsOfFile: $0, encoding: .utf8) })
    }

    /// Re-reads the certificate and key on every SIGHUP; established connections are kept.
    private static func reloadCertificatesOnSIGHUP(_ tls: TLSContextStore, logger: Logger) async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            do {
                try tls.reload()
                logger.info("reloaded TLS certificate and key", metadata: ["certificate": "\(tls.settings.certificatePath)"])
            } catch {
                logger.error("TLS reload failed; keeping the previous certificate", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Expired sessions are looked for ten times per expiry period, at most every ten minutes.
    static func janitorInterval(for expiry: Duration) -> Duration {
        min(max(expiry / 10, .seconds(1)), .seconds(600))
    }
}

/// Why `registry serve` could not start.
public enum StartupError: Error, CustomStringConvertible {
    case noRegistryRoot(String)

    public var description: String {
        switch self {
        case .noRegistryRoot(let root):
            "--read-only needs an existing registry root, and \(root) has no metadata.sqlite"
        }
    }
}
