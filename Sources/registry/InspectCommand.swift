import ArgumentParser
import Foundation
import RegistryImages

struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Explain an image: its platforms, config, and each layer's two hashes and who shares it.",
        discussion: """
            For each image (each platform of an index): manifest and config digests, created, \
            OS/architecture, entrypoint and command, labels, then a table of the layers: media \
            type, compressed size, distribution digest (of the compressed blob, what the registry \
            stores), diff_id (of the uncompressed tar, from the config's rootfs.diff_ids), the \
            uncompressed size once `registry verify` established it, and the other images that \
            use the layer. Sharing is known for a storage root and for registries run by this \
            program (limited to the repositories your login may pull).
            """)

    @OptionGroup var source: ImageSourceOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Print digests in full.")
    var noTrunc = false

    func run() async throws {
        let report = try await source.withSource { source, repository, reference in
            try await ImageInspector(source: source).inspect(reference, in: repository)
        }
        print(json ? try Self.json(report) : ImageReportText(report: report, full: noTrunc).inspect())
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show how an image was built: its config's history, newest first, next to the layers.",
        discussion: """
            As `docker history` does: steps that changed no files (ENV, CMD, ...) show <empty> \
            and size 0; every other step shows the layer it made and that layer's compressed size.
            """)

    @OptionGroup var source: ImageSourceOptions

    @Flag(help: "Do not shorten commands and digests.")
    var noTrunc = false

    @Flag(help: "Print the history as JSON (oldest first, as in the config).")
    var json = false

    func run() async throws {
        let report = try await source.withSource { source, repository, reference in
            try await ImageInspector(source: source).inspect(reference, in: repository)
        }
        let histories = report.images.map { ImageHistory(digest: $0.digest.description, platform: $0.platform, history: $0.history) }
        print(json ? try InspectCommand.json(histories) : ImageReportText(report: report, full: noTrunc).history())
    }

    /// One image's history in `--json`.
    struct ImageHistory: Encodable {
        var digest: String
        var platform: String?
        var history: [HistoryStep]
    }
}
