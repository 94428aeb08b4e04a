import NIOCore
import RegistryCore
import RegistryImages
import RegistryModel
import RegistryStorage

/// The image and layer pages: what `registry inspect` shows, with the layers drawn as bars.
extension RegistryResponder {
    func imagePage(_ repository: RepositoryName, request: Request, identity: AccessControl.Identity) async throws -> Response {
        let digest = try Digest(validating: request.query["digest"] ?? "")
        let tag = request.query["tag"].flatMap(Tag.init)
        let source = RootImageSource(registry: registry, location: "", visibleTo: visibility(for: identity))
        let report: ImageReport
        do {
            report = try await ImageInspector(source: source).inspect(.digest(digest), in: repository)
        } catch let error as ImageInspectionError {
            throw RegistryError(.manifestUnknown, message: "\(error)", detail: ["digest": digest.description])
        }
        let referrers = try await registry.referrers(of: digest, in: repository, artifactType: nil)
        let host = request.headers.first(name: "host") ?? "registry"
        return page(title: "\(repository.value)@\(digest.shortDescription)", identity: identity) { html in
            html.raw("<h1>")
            html.link(repository.value, to: UIPath.repository(repository))
            html.text(tag.map { ":\($0.value)" } ?? "@\(digest.shortDescription)")
            html.raw("</h1><h2>Pull</h2><pre>")
            if let tag { html.text("docker pull \(host)/\(repository.value):\(tag.value)\n") }
            html.text("docker pull \(host)/\(repository.value)@\(digest)")
            html.raw("</pre><dl><dt>digest</dt><dd class=\"digest\">")
            html.text(report.digest.description)
            html.raw("</dd><dt>media type</dt><dd>")
            html.text(report.mediaType)
            html.raw("</dd></dl>")
            if let platforms = report.platforms {
                html.raw("<h2>Platforms</h2><table><thead><tr><th>platform</th><th>digest</th><th>size</th></tr></thead><tbody>")
                for entry in platforms {
                    html.raw("<tr><td>")
                    html.text(entry.platform + (entry.referenceType.map { " (\($0))" } ?? ""))
                    html.raw("</td><td class=\"digest\">")
                    html.link(entry.digest.description, to: UIPath.image(repository, digest: entry.digest))
                    html.raw("</td><td>")
                    html.text(ByteCount.format(entry.size))
                    html.raw("</td></tr>")
                }
                html.raw("</tbody></table>")
            }
            for image in report.images {
                Self.render(image, in: repository, into: &html)
            }
            html.raw("<h2>Referrers</h2>")
            if referrers.isEmpty { html.element("p", "None: no signature, SBOM or attestation refers to this manifest.", attributes: "class=\"muted\"") }
            else {
                html.raw("<table><thead><tr><th>artifact type</th><th>digest</th><th>size</th></tr></thead><tbody>")
                for referrer in referrers.sorted(by: { ($0.artifactType ?? "", $0.digest) < ($1.artifactType ?? "", $1.digest) }) {
                    html.raw("<tr><td>")
                    html.text(referrer.artifactType ?? referrer.mediaType)
                    html.raw("</td><td class=\"digest\">")
                    html.link(referrer.digest.description, to: UIPath.image(repository, digest: referrer.digest))
                    html.raw("</td><td>")
                    html.text(ByteCount.format(referrer.size))
                    html.raw("</td></tr>")
                }
                html.raw("</tbody></table>")
            }
        }
    }

    static func render(_ image: ImageDetails, in repository: RepositoryName, into html: inout HTML) {
        html.raw("<h2>")
        html.text("Image \(image.platform ?? "") ")
        html.raw("<span class=\"digest\">")
        html.text(image.digest.description)
        html.raw("</span></h2><dl>")
        func field(_ name: String, _ value: String) {
            html.raw("<dt>")
            html.text(name)
            html.raw("</dt><dd>")
            html.text(value)
            html.raw("</dd>")
        }
        field("config", image.configDigest.description)
        field("created", image.created ?? "-")
        if let entrypoint = image.entrypoint { field("entrypoint", entrypoint.joined(separator: " ")) }
        if let cmd = image.cmd { field("cmd", cmd.joined(separator: " ")) }
        for label in image.labels { field("label", "\(label.key)=\(label.value)") }
        for annotation in image.annotations { field("annotation", "\(annotation.key)=\(annotation.value)") }
        field("size", "\(ByteCount.format(image.compressedSize)) compressed"
            + (image.uncompressedSize.map { ", \(ByteCount.format($0)) uncompressed" } ?? "")
            + (image.uniqueSize.map { "; \(ByteCount.format($0)) used by no other image" } ?? ""))
        // The layers as one bar, each as wide as its share of the bytes: SVG attributes, since
        // the Content-Security-Policy allows no inline style.
        html.raw("</dl><h3>Layers</h3><svg class=\"layers\" viewBox=\"0 0 1000 28\" preserveAspectRatio=\"none\" role=\"img\"><title>")
        html.text("\(image.layers.count) layers by compressed size")
        html.raw("</title>")
        let total = Double(max(1, image.layers.reduce(0) { $0 + $1.size }))
        var x = 0.0
        for layer in image.layers {
            let width = max(Double(layer.size) / total * 1000, 2)
            let shared = !(layer.sharedWith ?? []).isEmpty
            html.raw("<a href=\"\(HTML.escape(layerLink(layer, in: repository)))\"><rect class=\"\(shared ? "shared" : "own")\" x=\"\(String(format: "%.2f", x))\" y=\"0\" width=\"\(String(format: "%.2f", width))\" height=\"28\"><title>")
            html.text("layer \(layer.index): \(ByteCount.format(layer.size))\(shared ? ", shared with other images" : "")")
            html.raw("</title></rect></a>")
            x += width
        }
        html.raw("</svg><p class=\"legend muted\"><span class=\"swatch own\"></span>only this image<span class=\"swatch shared\"></span>shared with other images</p>")
        html.raw("<table><thead><tr><th>#</th><th>size</th><th>distribution digest</th><th>diff_id</th><th>uncompressed</th><th>shared with</th></tr></thead><tbody>")
        for layer in image.layers {
            html.raw("<tr><td>\(layer.index)</td><td>")
            html.text(ByteCount.format(layer.size))
            html.raw("</td><td class=\"digest\">")
            html.link(layer.digest.description, to: layerLink(layer, in: repository))
            html.raw("</td><td class=\"digest\">")
            html.text(layer.diffID?.description ?? "-")
            html.raw("</td><td>")
            html.text(layer.uncompressedSize.map { ByteCount.format($0) + (layer.verified == false ? " (diff_id mismatch)" : "") } ?? "-")
            html.raw("</td><td>")
            // Two images of one index (two platforms) name the same tag: each name once.
            var named: [(String, BlobUse)] = []
            for use in layer.sharedWith ?? [] {
                let name = "\(use.repository.value)\(use.tags.first.map { ":\($0.value)" } ?? "@\(use.manifest.shortDescription)")"
                if !named.contains(where: { $0.0 == name }) { named.append((name, use)) }
            }
            for (name, use) in named.prefix(5) {
                html.link(name, to: UIPath.image(use.repository, digest: use.manifest))
                html.raw(" ")
            }
            if named.count > 5 { html.text("+\(named.count - 5) more") }
            html.raw("</td></tr>")
        }
        html.raw("</tbody></table><h3>History</h3><table><thead><tr><th>created</th><th>created by</th><th>layer</th><th>size</th></tr></thead><tbody>")
        for step in image.history.reversed() {
            html.raw("<tr><td>")
            html.text(step.created ?? "-")
            html.raw("</td><td><code>")
            html.text(step.createdBy ?? "")
            html.raw("</code></td><td>")
            html.text(step.layer.map { "#\($0)" } ?? "empty")
            html.raw("</td><td>")
            html.text(ByteCount.format(step.size))
            html.raw("</td></tr>")
        }
        html.raw("</tbody></table>")
    }

    static func layerLink(_ layer: LayerDetails, in repository: RepositoryName) -> String {
        UIPath.layer(repository, digest: layer.digest)
            + (layer.diffID.map { "&diff_id=\(HTML.query($0.description))" } ?? "")
            + "&media_type=\(HTML.query(layer.mediaType))"
    }

    /// A layer: its two hashes, sizes, media type, and every image that uses it.
    func layerPage(_ request: Request, identity: AccessControl.Identity) async throws -> Response {
        let repository = try RepositoryName(validating: request.query["repository"] ?? "")
        try access.authorize([.pull], on: repository, for: identity)
        let digest = try Digest(validating: request.query["digest"] ?? "")
        let size = try await registry.blobSize(digest, in: repository)
        let document = try await registry.layerDocument(digest, visibleTo: visibility(for: identity))
        let diffID = document.facts?.diffID ?? request.query["diff_id"].flatMap { try? Digest(parsing: $0) }
        return page(title: "layer \(digest.shortDescription)", identity: identity) { html in
            html.element("h1", "Layer \(digest.shortDescription)")
            html.raw("<dl><dt>distribution digest</dt><dd class=\"digest\">")
            html.text(digest.description)
            html.raw("</dd><dt>diff_id</dt><dd class=\"digest\">")
            html.text(diffID?.description ?? "-")
            html.raw("</dd><dt>media type</dt><dd>")
            html.text(request.query["media_type"] ?? "-")
            html.raw("</dd><dt>compressed size</dt><dd>")
            html.text(ByteCount.format(size))
            html.raw("</dd><dt>uncompressed size</dt><dd>")
            html.text(document.facts.map { "\(ByteCount.format($0.uncompressedSize)) (verified \(UILayout.time($0.verifiedAt)))" }
                ?? "not verified yet (registry verify or scrub --diff-ids)")
            html.raw("</dd></dl><p class=\"muted\">The distribution digest is the hash of the compressed blob the registry stores and serves; the diff_id the hash of the uncompressed tar, as the image config lists it.</p>")
            html.raw("<h2>Used by</h2><table><thead><tr><th>repository</th><th>manifest</th><th>tags</th></tr></thead><tbody>")
            for use in document.uses {
                html.raw("<tr><td>")
                html.link(use.repository.value, to: UIPath.repository(use.repository))
                html.raw("</td><td class=\"digest\">")
                html.link(use.manifest.description, to: UIPath.image(use.repository, digest: use.manifest))
                html.raw("</td><td>")
                html.text(use.tags.map(\.value).joined(separator: ", "))
                html.raw("</td></tr>")
            }
            html.raw("</tbody></table>")
        }
    }
}
