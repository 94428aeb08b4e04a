import Foundation
import RegistryImages
import RegistryMirror
import RegistryModel
import RegistryStorage

/// `registry inspect` and `registry history` as text. Digests are shortened to 12 hex digits
/// (as `docker images` does) unless `full`.
struct ImageReportText {
    var report: ImageReport?
    let full: Bool

    init(report: ImageReport? = nil, full: Bool) {
        self.report = report
        self.full = full
    }

    func digest(_ digest: Digest?) -> String {
        guard let digest else { return "-" }
        return full ? digest.description : digest.shortDescription
    }

    static func size(_ bytes: Int64?) -> String {
        bytes.map(ByteCount.format) ?? "-"
    }

    /// `application/vnd.oci.image.layer.v1.tar+gzip` as `oci.image.layer.v1.tar+gzip`.
    static func mediaType(_ type: String) -> String {
        type.hasPrefix("application/vnd.") ? String(type.dropFirst("application/vnd.".count)) : type
    }

    static func json(_ strings: [String]?) -> String {
        guard let strings else { return "-" }
        let data = (try? JSONSerialization.data(withJSONObject: strings, options: [.withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: inspect

    func inspect() -> String {
        guard let report else { return "" }
        let separator = report.reference.contains(":") ? "@" : ":"
        let title = "\(report.source)/\(report.repository)\(separator)\(report.reference)"
        var lines = [title, "  digest:      \(report.digest)", "  media type:  \(report.mediaType)"]
        if let platforms = report.platforms {
            lines.append("  platforms:")
            var table = TextTable("PLATFORM", "DIGEST", "SIZE", "")
            for entry in platforms {
                table.add(entry.platform, digest(entry.digest), Self.size(entry.size), entry.referenceType ?? "")
            }
            lines += table.lines(indent: "    ")
        }
        for image in report.images {
            lines.append("")
            lines += describe(image)
        }
        return lines.joined(separator: "\n")
    }

    private func describe(_ image: ImageDetails) -> [String] {
        var lines = ["image \(image.platform ?? "?") \(image.digest)"]
        func field(_ name: String, _ value: String) {
            lines.append("  " + (name + ":").padding(toLength: 13, withPad: " ", startingAt: 0) + value)
        }
        field("media type", image.mediaType)
        field("config", image.configDigest.description)
        field("created", image.created ?? "-")
        if let author = image.author { field("author", author) }
        field("entrypoint", Self.json(image.entrypoint))
        field("cmd", Self.json(image.cmd))
        if let workingDir = image.workingDir, !workingDir.isEmpty { field("workdir", workingDir) }
        if let user = image.user, !user.isEmpty { field("user", user) }
        if image.labels.isEmpty { field("labels", "-") }
        for (index, label) in image.labels.enumerated() {
            field(index == 0 ? "labels" : "", "\(label.key)=\(label.value)")
        }
        for (index, annotation) in image.annotations.enumerated() {
            field(index == 0 ? "annotations" : "", "\(annotation.key)=\(annotation.value)")
        }
        lines.append("  layers:")
        var table = TextTable("#", "MEDIA TYPE", "SIZE", "DISTRIBUTION DIGEST", "DIFF_ID", "UNCOMPRESSED", "SHARED WITH")
        for layer in image.layers {
            let uncompressed = layer.uncompressedSize.map { Self.size($0) + (layer.verified == false ? " (diff_id mismatch)" : "") } ?? "-"
            table.add(
                "\(layer.index)", Self.mediaType(layer.mediaType), Self.size(layer.size), digest(layer.digest),
                digest(layer.diffID), uncompressed, shared(layer.sharedWith))
        }
        lines += table.lines(indent: "    ")
        var total = "\(Self.size(image.compressedSize)) compressed (config and layers)"
        if let uncompressed = image.uncompressedSize { total += ", \(Self.size(uncompressed)) uncompressed" }
        if let unique = image.uniqueSize {
            total += "; \(Self.size(unique)) of it used by no other image (what this image adds to the storage)"
        } else {
            total += "; sharing unknown (the registry does not say which images use a layer)"
        }
        field("total", total)
        return lines
    }

    /// `team/base:v1, team/app@sha256:12ab…, +3 more`; `-` for none, `?` when unknown.
    private func shared(_ uses: [BlobUse]?) -> String {
        guard let uses else { return "?" }
        guard !uses.isEmpty else { return "-" }
        // Two images of one index (two platforms) name the same tags: each name once.
        var names: [String] = []
        for use in uses {
            let named = use.tags.isEmpty ? ["\(use.repository)@\(digest(use.manifest))"] : use.tags.map { "\(use.repository):\($0)" }
            for name in named where !names.contains(name) { names.append(name) }
        }
        let shown = full ? names : Array(names.prefix(3))
        return shown.joined(separator: ", ") + (names.count > shown.count ? ", +\(names.count - shown.count) more" : "")
    }

    // MARK: history

    func history() -> String {
        guard let report else { return "" }
        var lines: [String] = []
        for image in report.images {
            if report.images.count > 1 || report.platforms != nil {
                if !lines.isEmpty { lines.append("") }
                lines.append("\(image.platform ?? "?") \(digest(image.digest))")
            }
            var table = TextTable("CREATED", "CREATED BY", "SIZE", "LAYER", "COMMENT")
            for step in image.history.reversed() {
                var command = (step.createdBy ?? "").replacingOccurrences(of: "\n", with: " ")
                if !full && command.count > 45 { command = String(command.prefix(44)) + "…" }
                let layer = step.layer.map { digest(image.layers[$0].digest) } ?? (step.emptyLayer ? "<empty>" : "<missing>")
                table.add(step.created ?? "-", command, Self.size(step.size), layer, step.comment ?? "")
            }
            lines += table.lines()
        }
        return lines.joined(separator: "\n")
    }
}
