import ArgumentParser
import Foundation
import RegistryServer

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a single-node registry (a storage root) into a cluster's PostgreSQL and S3, or any registry a config names.",
        discussion: """
            Copies every repository's blobs, manifests (byte-exact, so digests stay the same), \
            tags and referrers through the destination's own push path: each blob is re-hashed \
            as it is copied and kept only if it matches its digest. What the destination already \
            has is skipped, so an interrupted run is finished by running it again. Upload sessions \
            in progress are not copied. The destination is --to-config with REGISTRY_* variables, \
            as for serve. Exits with status 1 when anything could not be copied (listed at the end).
            """)

    @Option(name: .customLong("from-root"), help: ArgumentHelp("The single-node registry's storage root.", valueName: "DIR"))
    var fromRoot: String

    @Option(name: .customLong("to-config"), help: ArgumentHelp("YAML configuration of the destination (metadata.driver, storage.driver, ...).", valueName: "FILE"))
    var toConfig: String

    @Option(help: "Blobs copied at once.")
    var parallel = 4

    func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
    }

    func run() async throws {
        let destination: RegistryConfiguration
        do {
            destination = try await RegistryConfiguration.load(flags: [:], configFile: toConfig)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let progress = MigrationProgress()
        let interactive = isatty(STDERR_FILENO) == 1
        // A refusal (MigrationError) is reported as it is, with status 1, without the usage text.
        let report = try await withThrowingTaskGroup(of: MigrationReport?.self) { group in
            group.addTask {
                await progress.display(interactive: interactive) { FileHandle.standardError.write(Data($0.utf8)) }
                return nil
            }
            group.addTask {
                try await ClusterMigration.run(
                    fromRoot: fromRoot, to: destination, options: .init(parallelBlobs: parallel), progress: progress,
                    logger: RootOptions.logger)
            }
            // The copy ends first (the display runs until cancelled, then writes its last line).
            var report: MigrationReport?
            while report == nil, let result = try await group.next() { report = result }
            group.cancelAll()
            return report
        }
        guard let report else { return }
        print("migrated \(fromRoot) into the registry of \(toConfig)")
        print(report.summary)
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
