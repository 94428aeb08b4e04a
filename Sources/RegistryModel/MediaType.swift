/// Media types the registry understands.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json"
    public static let dockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
    public static let ociEmptyJSON = "application/vnd.oci.empty.v1+json"

    // Layer media types: tar archives, plain or compressed. "Nondistributable" (OCI) and
    // "foreign" (Docker) layers are the same archives, marked as not to be pushed elsewhere.
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociNondistributableLayer = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let ociNondistributableLayerGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let ociNondistributableLayerZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// The manifest types a `PUT /manifests` accepts.
    public static let acceptedManifestTypes: Set<String> = [ociManifest, ociIndex, dockerManifest, dockerManifestList]

    /// `type/subtype` of a header value, lower-cased, without parameters or white space.
    public static func essence(of headerValue: String) -> String {
        var value = headerValue
        return value.withUTF8 { essence(ofBytes: $0) } ?? ""
    }

    /// `essence(of:)` on UTF-8 bytes, nil when empty. Works on bytes: `Accept` lists are parsed
    /// on every manifest request, and character-by-character `String` work showed up in profiles.
    static func essence(ofBytes bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        var start = bytes.startIndex
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        guard start < end else { return nil }
        let trimmed = UnsafeBufferPointer(rebasing: bytes[start..<end])
        guard trimmed.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            return String(decoding: trimmed, as: UTF8.self)
        }
        return String(decoding: trimmed.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
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
        var found: Set<String> = []
        for line in headerLines {
            sawHeader = true
            var line = line
            line.withUTF8 { bytes in
                var start = bytes.startIndex
                while start <= bytes.endIndex {
                    let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
                    if let essence = MediaType.essence(ofBytes: UnsafeBufferPointer(rebasing: bytes[start..<end])) {
                        found.insert(essence)
                    }
                    start = end + 1
                }
            }
        }
        types = found
        acceptsAnything = !sawHeader || found.contains("*/*") || found.contains("application/*")
    }

    /// Whether `mediaType` is listed explicitly or covered by a wildcard.
    public func accepts(_ mediaType: String) -> Bool {
        acceptsAnything || types.contains(mediaType)
    }
}
