/// Media types the registry understands.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let ociEmptyJSON = "application/vnd.oci.empty.v1+json"

    /// The manifest types a `PUT /manifests` accepts.
    public static let acceptedManifestTypes: Set<String> = [ociManifest, ociIndex, dockerManifest, dockerManifestList]

    /// `type/subtype` of a header value, lower-cased, without parameters or white space.
    public static func essence(of headerValue: Substring) -> Substring {
        let withoutParameters = headerValue.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return withoutParameters.trimmingWhitespace()
    }
}

/// The media types a client listed in its `Accept` header lines.
///
/// Every `Accept` line is read and comma-split; quality values are ignored, as the reference
/// registry does. A request with no `Accept` header accepts anything (RFC 9110 §12.5.1).
public struct AcceptedMediaTypes: Sendable {
    public private(set) var types: Set<String> = []
    public private(set) var acceptsAnything: Bool

    public init<Lines: Sequence>(headerLines: Lines) where Lines.Element == String {
        var sawHeader = false
        var anything = false
        for line in headerLines {
            sawHeader = true
            for item in line.split(separator: ",") {
                let essence = MediaType.essence(of: item).lowercased()
                guard !essence.isEmpty else { continue }
                if essence == "*/*" || essence == "application/*" { anything = true }
                types.insert(essence)
            }
        }
        acceptsAnything = anything || !sawHeader
    }

    /// Whether `mediaType` is listed explicitly or covered by a wildcard.
    public func accepts(_ mediaType: String) -> Bool {
        acceptsAnything || types.contains(mediaType)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
