import ArgumentParser
import Foundation
import RegistryImages
import RegistryMirror
import RegistryModel
import RegistryServer
import RegistryUpstream

struct SquashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "squash",
        abstract: "Make a single-layer image of SRC's final filesystem and push it as DEST.",
        discussion: """
            Applies SRC's layers in order, as a container runtime would (OCI whiteouts .wh.NAME \
            and opaque directories .wh..wh..opq honoured, later files replacing earlier ones, \
            links kept), writes the result as one gzip layer, and pushes it with a config whose \
            rootfs has that one diff_id and whose history keeps SRC's steps (marked as making no \
            layer) plus one for the squash. A multi-platform SRC gives an index of squashed \
            images. SRC is only read. SRC and DEST are HOST[:PORT]/REPOSITORY[:TAG] (DEST on any \
            registry), or with --root repositories of that storage root. Memory grows with the \
            number of files, not their size; the squashed layer is written to a temporary file.
            """)

    @Argument(help: ArgumentHelp("The image to squash: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST], or REPOSITORY[:TAG|@DIGEST] with --root.", valueName: "SRC"))
    var source: String

    @Argument(help: ArgumentHelp("Where to push it: HOST[:PORT]/REPOSITORY[:TAG], or REPOSITORY[:TAG] with --root.", valueName: "DEST"))
    var destination: String

    @Option(help: "Read SRC from and write DEST into this storage root.")
    var root: String?

    @Option(help: "Read SRC from and write DEST into the registry this YAML configuration names.")
    var config: String?

    @OptionGroup var logins: RegistryLogins

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let from = try ImageReference.validated(source)
        let to = try ImageReference.validated(destination)
        guard case .tag(let tag) = to.reference else { throw ValidationError("DEST names a tag to push to, not a digest") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("registry-squash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: work) }
        let report: ImageSquasher.Report
        if root != nil || config != nil {
            let (sourceRepository, destinationRepository) = (try from.localRepository(), try to.localRepository())
            report = try await RootOptions(root: root, config: config).withRoot { maintenance in
                try await ImageSquasher(source: maintenance.images, destination: maintenance.destination(destinationRepository), workDirectory: work)
                    .squash(from.reference, in: sourceRepository, to: tag)
            }
        } else {
            let (sourceAddress, destinationAddress) = (try from.remoteAddress(), try to.remoteAddress())
            let sourceClient = try logins.source(sourceAddress.baseURL)
            let destinationClient = try logins.destination(destinationAddress.baseURL)
            let remote = RemoteDestination(client: destinationClient, repository: destinationAddress.repository)
            report = try await ImageSquasher(source: RemoteImageSource(client: sourceClient), destination: remote, workDirectory: work)
                .squash(from.reference, in: sourceAddress.repository, to: tag)
        }
        print(json ? try InspectCommand.json(report) : Self.text(report))
    }

    static func text(_ report: ImageSquasher.Report) -> String {
        let lines = ["squashed \(report.source) -> \(report.destination) (\(report.digest))"]
        var table = TextTable("PLATFORM", "LAYERS", "COMPRESSED", "UNCOMPRESSED", "ENTRIES", "DIGEST")
        for image in report.images {
            table.add(
                image.platform ?? "?", "\(image.layersBefore) -> 1",
                "\(ImageReportText.size(image.compressedBefore)) -> \(ImageReportText.size(image.compressedAfter))",
                "\(ImageReportText.size(image.uncompressedBefore)) -> \(ImageReportText.size(image.uncompressedAfter))",
                "\(image.entriesBefore) -> \(image.entriesAfter)", image.digest.shortDescription)
        }
        return (lines + table.lines(indent: "  ")).joined(separator: "\n")
    }
}
