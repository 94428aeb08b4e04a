import Foundation
import Logging
import RegistryCore
import RegistryModel
import RegistryStorage
import SystemPackage

/// The maintenance commands (`registry gc`, `scrub`, `du`, `rm`) on the registry a configuration
/// names (a root, or a cluster's database and bucket), safe while `registry serve` processes use
/// it: the metadata database arbitrates (each step is a short write transaction; the servers
/// notice the changes within a second).
public struct RootMaintenance: Sendable {
    let configuration: RegistryConfiguration
    let database: Metadata
    /// The configured blob driver: the root's files, or the bucket.
    let storage: BlobStorage
    let logger: Logger

    /// Opens the root of `configuration`, which must already hold a registry.
    public static func open(_ configuration: RegistryConfiguration, logger: Logger) async throws -> RootMaintenance {
        let layout = StorageLayout(root: FilePath(configuration.root))
        guard configuration.metadata.driver != .sqlite || FileManager.default.fileExists(atPath: layout.metadataDatabase.string) else {
            throw MaintenanceError.noRegistryRoot(configuration.root)
        }
        let database = try await MetadataOpening.open(configuration, readerCount: 1, logger: logger)
        let storage: BlobStorage
        do {
            storage = try await BlobStorage.open(configuration, prepare: false)
        } catch {
            try? await database.close()
            throw error
        }
        return RootMaintenance(configuration: configuration, database: database, storage: storage, logger: logger)
    }

    /// `registry migrate-schema`: opening the database has brought its schema to this binary's
    /// version (or refused a newer one); says which.
    public static func migrateSchema(_ configuration: RegistryConfiguration, logger: Logger) async throws -> String {
        let layout = StorageLayout(root: FilePath(configuration.root))
        guard configuration.metadata.driver != .sqlite || FileManager.default.fileExists(atPath: layout.metadataDatabase.string) else {
            throw MaintenanceError.noRegistryRoot(configuration.root)
        }
        let database = try await MetadataOpening.database(configuration, readerCount: 1, logger: logger)
        try await database.close()
        let driver = configuration.metadata.driver
        let place = driver == .sqlite ? layout.metadataDatabase.string : "PostgreSQL"
        return "metadata schema of \(place) (\(driver.rawValue)) is at version \(type(of: database).schemaVersion), this registry's"
    }

    /// What the reports call the registry: its root, or where a cluster keeps its blobs.
    var registryName: String {
        let settings = configuration.blobStorage
        switch settings.driver {
        case .filesystem: return configuration.root
        case .s3: return "s3://\(settings.bucket ?? "")/\(settings.prefix)"
        }
    }

    public func close() async throws {
        do {
            try await storage.shutdown()
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
    }

    /// `registry gc`: the configured retention rules and grace period, with these overrides.
    /// The grace period counts back from `now` (tests move it instead of waiting it out).
    public func collectGarbage(deleteUntagged: Bool, dryRun: Bool, json: Bool, now: Date = Date()) async throws -> String {
        var options = configuration.garbageCollectionOptions
        options.deleteUntagged = options.deleteUntagged || deleteUntagged
        options.dryRun = dryRun
        let collector = GarbageCollector(
            metadata: database, blobs: storage.blobs, events: configuration.makeEventRecorder(outbox: database), logger: logger)
        let report = try await claiming(GarbageCollectionService.job) { [options] in try await collector.collect(options, now: now) }
        if json { return try Self.json(GarbageCollectionSummary(report)) }
        var lines = ["garbage collection\(dryRun ? " (dry run: nothing deleted)" : "") of \(registryName)"]
        lines += Self.describe(report.result, verb: dryRun ? "would delete" : "deleted")
        if let rules = report.retentionDryRun {
            lines.append("retention rules are in dry-run mode; on their own they would delete:")
            lines += Self.describe(rules, verb: "would delete").map { "  " + $0 }
        }
        if !report.removedOrphanFiles.isEmpty {
            lines.append("removed \(report.removedOrphanFiles.count) blob file(s) no record owned (left by a crash)")
        }
        lines.append("time: \(String(format: "%.3f", report.duration.timeInterval)) s")
        return lines.joined(separator: "\n")
    }

    /// Runs `body` as the background job `job`, waiting while another process (the server's own
    /// schedule, a replica, another command) runs it.
    private func claiming<T: Sendable>(_ job: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var told = false
        while true {
            if let result = try await database.runExclusively(job, body) { return result }
            if !told {
                logger.notice("waiting: another registry process is running this job", metadata: ["job": "\(job)"])
                told = true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// `registry scrub`. The second value is whether the root is free of damage.
    public func scrub(repair: Bool) async throws -> (text: String, clean: Bool) {
        let scrubber = Scrubber(metadata: database, blobs: storage.blobs, logger: logger)
        let report = try await claiming("scrub") { try await scrubber.scrub(.init(repair: repair)) }
        var lines = [
            "scrubbed \(registryName): \(report.checked) blobs, \(ByteCount.format(report.bytes)) re-hashed in "
                + String(format: "%.3f", report.duration.timeInterval) + " s"
        ]
        func list(_ title: String, _ digests: [Digest]) {
            guard !digests.isEmpty else { return }
            lines.append("\(title): \(digests.count)")
            lines += digests.map { "  \($0)" }
        }
        list("corrupt (bytes do not match the digest)\(repair ? ", quarantined" : "")", report.corrupt)
        list("missing (recorded, no file)\(repair ? ", forgotten" : "")", report.missing)
        list("referenced by links or manifests but not stored", report.dangling)
        list("files no record owns (left by a crash; not an error while a push commits)", report.unrecorded)
        if report.isClean {
            lines.append("no damage found")
        } else if repair {
            lines.append("repaired: the next push of each damaged digest stores it again for every repository")
        } else {
            lines.append("damage found: run with --repair to quarantine it, then push the affected images again")
        }
        return (lines.joined(separator: "\n"), report.isClean)
    }

    /// `registry du`.
    public func usage(of repository: String?, json: Bool) async throws -> String {
        let name = try repository.map { try RepositoryName(validating: $0) }
        let figures = try await database.usage(of: name)
        if let name, figures.repositories.isEmpty {
            throw MaintenanceError.unknownRepository(name.value)
        }
        let quotas = configuration.quotas
        if json { return try Self.json(UsageSummary(figures, includeTotal: name == nil, quotas: quotas)) }
        var rows = [["REPOSITORY", "MANIFESTS", "TAGS", "LOGICAL", "PHYSICAL", "SAVED BY SHARING", "QUOTA"]]
        for entry in figures.repositories {
            // The quota counts what PHYSICAL shows: the distinct blobs the repository links.
            let quota = quotas.quota(for: entry.name).map { $0.describe(used: entry.physical) } ?? "-"
            rows.append([
                entry.name.value, "\(entry.manifests)", "\(entry.tags)", "\(ByteCount.format(entry.logical))",
                "\(ByteCount.format(entry.physical))", "\(ByteCount.format(entry.saved))", quota,
            ])
        }
        if name == nil {
            rows.append([
                "TOTAL (\(figures.blobs) blobs on disk)", "", "", "\(ByteCount.format(figures.logical))", "\(ByteCount.format(figures.physical))",
                "\(ByteCount.format(figures.saved))", "",
            ])
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// `registry rm`, with a `repository.deleted` event (no actor: an operator at the root).
    public func deleteRepository(_ repository: String) async throws -> String {
        let name = try RepositoryName(validating: repository)
        let recorder = configuration.makeEventRecorder(outbox: database)
        let events = recorder?.outboxEvents([RegistryEvent(.repositoryDeleted, repository: name)]) ?? []
        guard try await database.deleteRepository(name, events: events) else { throw MaintenanceError.unknownRepository(name.value) }
        return "deleted repository \(name.value): its tags, manifests and blob links; "
            + "`registry gc` reclaims the blobs no other repository uses"
    }

    private static func describe(_ result: CollectionResult, verb: String) -> [String] {
        var lines: [String] = []
        for (repository, tags) in result.deletedTags.sorted(by: { $0.key.value < $1.key.value }) {
            lines.append("\(verb) tags of \(repository): \(tags.map(\.value).joined(separator: ", "))")
        }
        let manifests = result.deletedManifests.values.reduce(0) { $0 + $1.count }
        lines.append("manifests \(verb == "deleted" ? "deleted" : "to delete"): \(manifests)")
        lines.append("unused blob links removed: \(result.removedLinks)")
        if !result.deletedRepositories.isEmpty {
            lines.append("empty repositories removed: \(result.deletedRepositories.map(\.value).joined(separator: ", "))")
        }
        lines.append("blobs \(verb == "deleted" ? "deleted" : "to delete"): \(result.deletedBlobs.count), "
            + "\(ByteCount.format(result.reclaimedBytes)) \(verb == "deleted" ? "reclaimed" : "to reclaim")")
        return lines
    }

    private static func json<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `registry du --json`.
struct UsageSummary: Encodable {
    struct Repository: Encodable {
        var name: String
        var manifests: Int
        var tags: Int
        var logicalBytes: Int64
        var physicalBytes: Int64
        var savedBytes: Int64
        /// The repository's storage quota, if it has one.
        var quota: Quota?

        enum CodingKeys: String, CodingKey {
            case name, manifests, tags, logicalBytes = "logical_bytes", physicalBytes = "physical_bytes", savedBytes = "saved_bytes"
            case quota
        }
    }

    struct Quota: Encodable {
        var name: String
        var limitBytes: Int64
        var usedPercent: Int

        enum CodingKeys: String, CodingKey {
            case name, limitBytes = "limit_bytes", usedPercent = "used_percent"
        }
    }

    struct Total: Encodable {
        var blobs: Int
        var logicalBytes: Int64
        var physicalBytes: Int64
        var savedBytes: Int64

        enum CodingKeys: String, CodingKey {
            case blobs, logicalBytes = "logical_bytes", physicalBytes = "physical_bytes", savedBytes = "saved_bytes"
        }
    }

    var repositories: [Repository]
    var total: Total?

    private static func quota(of repository: UsageFigures.Repository, in quotas: StorageQuotas) -> Quota? {
        quotas.quota(for: repository.name).map {
            Quota(name: $0.name, limitBytes: $0.limit, usedPercent: $0.percent(of: repository.physical))
        }
    }

    init(_ figures: UsageFigures, includeTotal: Bool, quotas: StorageQuotas = StorageQuotas()) {
        repositories = figures.repositories.map {
            Repository(
                name: $0.name.value, manifests: $0.manifests, tags: $0.tags, logicalBytes: $0.logical,
                physicalBytes: $0.physical, savedBytes: $0.saved,
                quota: Self.quota(of: $0, in: quotas))
        }
        total = includeTotal
            ? Total(blobs: figures.blobs, logicalBytes: figures.logical, physicalBytes: figures.physical, savedBytes: figures.saved)
            : nil
    }
}

public enum MaintenanceError: Error, CustomStringConvertible {
    case noRegistryRoot(String)
    case unknownRepository(String)

    public var description: String {
        switch self {
        case .noRegistryRoot(let root): "\(root) is not a registry root (it has no metadata.sqlite)"
        case .unknownRepository(let name): "no repository named \(name)"
        }
    }
}
