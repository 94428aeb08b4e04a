import ArgumentParser
import Foundation
import Logging
import RegistryMirror
import RegistryModel
import RegistryServer
import RegistryUpstream

struct MirrorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mirror",
        abstract: "Copy a repository's tags from one registry to another, digests unchanged.",
        discussion: """
            SOURCE and DEST are [http://|https://]HOST[:PORT]/REPOSITORY; without a scheme a \
            loopback host means http and any other host https, as docker decides. With --root, \
            DEST is a repository name in that storage root instead. Manifests are copied \
            byte-exact; blobs the destination has are skipped, blobs it stores elsewhere are \
            mounted, so a second run (or a run after an interruption) copies only what is missing.
            """)

    @Argument(help: "Where to copy from: HOST[:PORT]/REPOSITORY.")
    var source: String

    @Argument(help: "Where to copy to: HOST[:PORT]/REPOSITORY, or a repository name with --root.")
    var destination: String

    @Option(help: ArgumentHelp("Only tags matching this glob (* any run, ? one character).", valueName: "GLOB"))
    var tags: String?

    @Option(name: .customLong("tags-regex"), help: ArgumentHelp("Only tags matching this regular expression (whole tag).", valueName: "RE"))
    var tagsRegex: String?

    @Option(help: ArgumentHelp("Copy only this platform's image of multi-platform tags (default: all platforms).", valueName: "OS/ARCH[/VARIANT]"))
    var platform: String?

    @Flag(help: "Copy every platform of multi-platform tags (the default).")
    var allPlatforms = false

    @Flag(help: "Show what would be copied, copy nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Keep mirroring: run again this long after each run ends (e.g. 10m).", valueName: "DURATION"))
    var watch: String?

    @Option(help: "Blobs transferred at once.")
    var parallel = 4

    @Option(help: "Write into this storage root instead of a registry (DEST is then a repository name).")
    var root: String?

    @OptionGroup var logins: RegistryLogins

    func validate() throws {
        if tags != nil && tagsRegex != nil { throw ValidationError("give --tags or --tags-regex, not both") }
        if platform != nil && allPlatforms { throw ValidationError("give --platform or --all-platforms, not both") }
        if parallel < 1 { throw ValidationError("--parallel must be at least 1") }
    }

    func run() async throws {
        let sourceAddress = try address(source)
        var filter = TagFilter.all
        if let tags {
            guard let glob = TagFilter.glob(tags) else { throw ValidationError("--tags \(tags) is not a usable glob") }
            filter = glob
        } else if let tagsRegex {
            guard let expression = TagFilter.regularExpression(tagsRegex) else {
                throw ValidationError("--tags-regex \(tagsRegex) is not a valid regular expression")
            }
            filter = expression
        }
        var chosenPlatform: Platform?
        if let platform {
            guard let parsed = Platform(parsing: platform) else { throw ValidationError("--platform \(platform): expected OS/ARCH[/VARIANT]") }
            chosenPlatform = parsed
        }
        var interval: Duration?
        if let watch {
            guard let parsed = Self.duration(watch) else { throw ValidationError("--watch \(watch): expected a duration such as 30s, 10m or 1h") }
            interval = parsed
        }
        let options = Mirror.Options(tags: filter, platform: chosenPlatform, dryRun: dryRun, parallelTransfers: parallel)
        let sourceClient = try logins.source(sourceAddress.baseURL)

        var logger = Logger(label: "registry")
        logger.logLevel = .warning
        if let root {
            guard let repository = RepositoryName(destination) else { throw ValidationError("\(destination) is not a valid repository name") }
            let local = try await RootMirrorDestination.open(root: root, repository: repository, logger: logger)
            do {
                try await mirror(from: sourceClient, sourceAddress, to: local, options: options, every: interval)
            } catch {
                try? await local.close()
                throw error
            }
            try await local.close()
        } else {
            let destinationAddress = try address(destination)
            let client = try logins.destination(destinationAddress.baseURL)
            let remote = RemoteDestination(
                client: client, repository: destinationAddress.repository,
                mountSource: destinationAddress.baseURL == sourceAddress.baseURL ? sourceAddress.repository : nil)
            try await mirror(from: sourceClient, sourceAddress, to: remote, options: options, every: interval)
        }
    }

    /// One run, or with `interval` a run every `interval` until interrupted (a failed run is
    /// reported and tried again next time).
    private func mirror(
        from source: UpstreamClient, _ sourceAddress: UpstreamAddress, to destination: any MirrorDestination,
        options: Mirror.Options, every interval: Duration?
    ) async throws {
        let mirror = Mirror(
            source: source, repository: sourceAddress.repository, destination: destination, options: options, progress: ConsoleProgress())
        let scope = [options.tags.description] + (options.platform.map { ["\($0) only"] } ?? []) + (dryRun ? ["dry run"] : [])
        print("mirroring \(sourceAddress) -> \(destination.description) (\(scope.joined(separator: ", ")))")
        while true {
            do {
                print(Self.summary(try await mirror.run(), dryRun: dryRun))
            } catch {
                guard interval != nil else { throw MirrorFailure(description: "\(error)") }
                print("mirror run failed: \(error)")
            }
            guard let interval else { return }
            try await Task.sleep(for: interval)
        }
    }

    private func address(_ text: String) throws -> UpstreamAddress {
        do {
            return try UpstreamAddress(parsing: text)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    static func duration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 0), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count)), value > 0 else { continue }
            if seconds == 0 { return .milliseconds(value) }
            let (total, overflow) = value.multipliedReportingOverflow(by: seconds)
            return overflow ? nil : .seconds(total)
        }
        return nil
    }

    static func summary(_ report: MirrorReport, dryRun: Bool) -> String {
        let verb = dryRun ? "would copy" : "copied"
        let seconds = Double(report.duration.components.seconds) + Double(report.duration.components.attoseconds) / 1e18
        return """
            \(report.tagsConsidered) tag(s): \(report.tagsCopied.count) \(verb), \(report.tagsUpToDate) up to date; \
            \(report.manifestsCopied) child manifest(s) \(verb); blobs: \(report.blobsCopied) \(verb) \
            (\(ByteCount.format(report.bytesCopied))), \(report.blobsMounted) mounted, \(report.blobsPresent) already there; \
            \(String(format: "%.1f", seconds)) s
            """
    }
}

struct MirrorFailure: Error, CustomStringConvertible {
    let description: String
}
