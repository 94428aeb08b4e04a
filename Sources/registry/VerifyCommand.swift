import ArgumentParser
import RegistryImages
import RegistryMirror
import RegistryModel

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check each layer of an image: its distribution digest, and the diff_id of its uncompressed tar.",
        discussion: """
            Downloads (or, with --root, reads) every layer once, hashing the compressed blob and, \
            while decompressing it (gzip or zstd), the tar inside, in bounded memory whatever the \
            layer's size. Each layer is reported ok, digest mismatch, diff_id mismatch, corrupt \
            (does not decompress), no diff_id, unsupported media type, or missing. With --root, \
            layers found ok are remembered in the metadata (their uncompressed size shows in \
            `registry inspect` and the web UI). Exits with status 1 when any layer is not ok.
            """)

    @OptionGroup var source: ImageSourceOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Print digests in full.")
    var noTrunc = false

    func run() async throws {
        let report = try await source.withSource { source, repository, reference in
            try await ImageVerifier(source: source).verify(reference, in: repository)
        }
        print(json ? try InspectCommand.json(report) : Self.text(report, full: noTrunc))
        if !report.isClean { throw ExitCode(1) }
    }

    static func text(_ report: VerificationReport, full: Bool) -> String {
        let names = ImageReportText(full: full)
        var lines = ["verify \(report.source)/\(report.repository) \(report.reference) (\(report.digest))"]
        for image in report.images {
            lines.append("")
            lines.append("image \(image.platform ?? "?") \(names.digest(image.digest))")
            var table = TextTable("#", "RESULT", "SIZE", "UNCOMPRESSED", "DISTRIBUTION DIGEST", "DIFF_ID", "DETAIL")
            for layer in image.layers {
                var detail = layer.detail ?? ""
                if layer.outcome == .digestMismatch { detail = "bytes hash to \(names.digest(layer.actualDigest))" }
                if layer.outcome == .diffIDMismatch { detail = "tar hashes to \(names.digest(layer.actualDiffID))" }
                if layer.outcome == .unsupportedMediaType { detail = layer.mediaType }
                table.add(
                    "\(layer.index)", layer.outcome.rawValue, ImageReportText.size(layer.size), ImageReportText.size(layer.uncompressedSize),
                    names.digest(layer.digest), names.digest(layer.diffID), detail)
            }
            lines += table.lines(indent: "  ")
        }
        let bad = report.images.flatMap(\.layers).filter { $0.outcome != .ok }.count
        lines.append("")
        lines.append(bad == 0 ? "all layers ok" : "\(bad) layer(s) not ok")
        return lines.joined(separator: "\n")
    }
}
