import ArgumentParser
import Logging
import RegistryModel
import RegistryImages
import RegistryMirror
import RegistryServer

/// Where the maintenance commands find the registry: the same root and config as `serve`.
struct RootOptions: ParsableArguments {
    @Option(help: "Storage root directory (default ./data, or storage.root from --config).")
    var root: String?

    @Option(help: "YAML configuration file (gc, retention rules).")
    var config: String?

    /// The configuration these options and the environment name (`serve`'s, without its flags).
    func loadConfiguration() async throws -> RegistryConfiguration {
        var flags: [String: String] = [:]
        flags["storage.root"] = root
        do {
            return try await RegistryConfiguration.load(flags: flags, configFile: config)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// Logs warnings and errors only: the commands print their own report.
    static var logger: Logger {
        var logger = Logger(label: "registry")
        logger.logLevel = .warning
        return logger
    }

    /// Opens the root, runs `body`, closes the root.
    func withRoot<T>(_ body: (RootMaintenance) async throws -> T) async throws -> T {
        let configuration = try await loadConfiguration()
        let logger = Self.logger
        let maintenance: RootMaintenance
        do {
            maintenance = try await RootMaintenance.open(configuration, logger: logger)
        } catch let error as MaintenanceError {
            throw ValidationError(error.description)
        }
        do {
            let result = try await body(maintenance)
            try await maintenance.close()
            return result
        } catch {
            try? await maintenance.close()
            if let error = error as? MaintenanceError { throw ValidationError(error.description) }
            throw error
        }
    }
}

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete what no tag keeps and reclaim the space, while the registry keeps serving.",
        discussion: """
            Applies the retention rules of --config, then deletes manifests nothing keeps (with \
            --delete-untagged), blob links no manifest uses and blobs no repository links. Anything \
            younger than gc.grace_period (default 1h) is kept: pushes in progress are safe.
            """)

    @OptionGroup var root: RootOptions

    @Flag(help: "Report what would be deleted, delete nothing.")
    var dryRun = false

    @Flag(help: "Also delete untagged manifests that no tag, index or kept subject reaches.")
    var deleteUntagged = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        print(try await root.withRoot { try await $0.collectGarbage(deleteUntagged: deleteUntagged, dryRun: dryRun, json: json) })
    }
}

struct ScrubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrub",
        abstract: "Re-hash every stored blob and report any whose bytes do not match their digest.",
        discussion: "Exits with status 1 when it finds damage and --repair was not given.")

    @OptionGroup var root: RootOptions

    @Flag(help: "Quarantine corrupt blobs and forget missing ones, so that the next push stores them again.")
    var repair = false

    @Flag(name: .customLong("diff-ids"), help: "Instead: decompress every tagged image's layers, check their diff_ids and record their uncompressed sizes.")
    var diffIDs = false

    @Option(help: ArgumentHelp("With --diff-ids: read at most this many bytes a second (e.g. 64MiB, 1GiB, 100MB; 0 for no limit).", valueName: "SIZE"))
    var rate = "64MiB"

    @Flag(help: "With --diff-ids: check layers verified before too.")
    var again = false

    @Flag(help: "With --diff-ids: print the report as JSON.")
    var json = false

    func validate() throws {
        if diffIDs && repair { throw ValidationError("--repair applies to the blob scrub, not to --diff-ids") }
        _ = try bytesPerSecond()
    }

    func run() async throws {
        if diffIDs {
            let limit = try bytesPerSecond()
            let report = try await root.withRoot { try await DiffIDScrub(source: $0.images, bytesPerSecond: limit, again: again).run() }
            print(json ? try InspectCommand.json(report) : Self.text(report))
            if !report.isClean { throw ExitCode(1) }
            return
        }
        let (text, clean) = try await root.withRoot { try await $0.scrub(repair: repair) }
        print(text)
        if !clean && !repair { throw ExitCode(1) }
    }

    /// `--rate`, read as the configuration reads sizes; nil for 0 (no limit).
    private func bytesPerSecond() throws -> Int64? {
        do {
            let bytes = try ByteCountParser.parse(rate, key: "--rate")
            return bytes > 0 ? bytes : nil
        } catch {
            throw ValidationError(error.description)
        }
    }

    static func text(_ report: DiffIDScrub.Report) -> String {
        var lines = [
            "diff_id scrub: \(report.repositories) repositories, \(report.tags) tags; \(report.layersVerified) layers verified "
                + "(\(ByteCount.format(report.compressedBytesRead)) read), \(report.layersAlreadyVerified) verified before",
        ]
        for problem in report.problems {
            lines.append("  \(problem.repository):\(problem.tag) layer \(problem.layer.index) \(problem.layer.digest): \(problem.layer.outcome.rawValue)")
        }
        lines.append(report.isClean ? "all layers ok" : "\(report.problems.count) layer(s) not ok")
        return lines.joined(separator: "\n")
    }
}

struct DUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "du",
        abstract: "Show logical size, physical size and the bytes saved by layer sharing.")

    @Argument(help: "Only this repository.")
    var repository: String?

    @OptionGroup var root: RootOptions

    @Flag(help: "Print the figures as JSON (bytes).")
    var json = false

    func run() async throws {
        print(try await root.withRoot { try await $0.usage(of: repository, json: json) })
    }
}

struct RMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a repository: its tags, manifests and blob links (the next gc reclaims the blobs).")

    @Argument(help: "The repository, e.g. team/app.")
    var repository: String

    @OptionGroup var root: RootOptions

    func run() async throws {
        print(try await root.withRoot { try await $0.deleteRepository(repository) })
    }
}

struct MigrateSchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-schema",
        abstract: "Bring the metadata database's schema to this version of the registry (serve does it at start too).",
        discussion: """
            Uses metadata.driver and metadata.url from --config or REGISTRY_METADATA_*. Safe while \
            other registry processes run: migrations take the database's lock. Fails, changing \
            nothing, when the database is newer than this registry.
            """)

    @OptionGroup var root: RootOptions

    func run() async throws {
        do {
            print(try await RootMaintenance.migrateSchema(try await root.loadConfiguration(), logger: RootOptions.logger))
        } catch let error as MaintenanceError {
            throw ValidationError(error.description)
        }
    }
}
