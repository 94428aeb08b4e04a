import Foundation

/// A manifest as pushed by a client, parsed only as far as the registry needs: its type, the
/// blobs and child manifests it references, and the fields the referrers API reports.
///
/// The original bytes are never re-encoded; the registry stores and serves them as received.
public struct Manifest: Sendable {
    public enum Kind: Sendable { case image, index }

    public let mediaType: String
    public let kind: Kind
    public let config: Descriptor?
    public let layers: [Descriptor]
    public let manifests: [Descriptor]
    public let subject: Descriptor?
    public let artifactType: String?
    public let annotations: [String: String]?

    /// The blobs this manifest needs in the repository (config and layers).
    public var referencedBlobs: [Descriptor] { (config.map { [$0] } ?? []) + layers }

    /// The `artifactType` the referrers API reports: the manifest's own, else (for an image
    /// manifest) its config's media type, per distribution-spec.
    public var effectiveArtifactType: String? {
        artifactType ?? (kind == .image ? config?.mediaType : nil)
    }

    /// Parses and validates a manifest body against the request's `Content-Type`.
    public init(parsing bytes: [UInt8], contentType: String?) throws(RegistryError) {
        let raw: RawManifest
        do {
            raw = try JSONDecoder().decode(RawManifest.self, from: Data(bytes))
        } catch {
            throw RegistryError(.manifestInvalid, message: "manifest is not valid: \(Self.describe(error))")
        }
        let declaredType = contentType.map { MediaType.essence(of: $0) }
            .flatMap { $0.isEmpty || $0 == "application/octet-stream" ? nil : $0 }
        let mediaType: String
        switch (raw.mediaType, declaredType) {
        case let (body?, header?) where body != header:
            throw RegistryError(
                .manifestInvalid,
                message: "manifest mediaType \"\(body)\" does not match Content-Type \"\(header)\"")
        case let (body?, _):
            mediaType = body
        case let (nil, header?):
            mediaType = header
        case (nil, nil):
            mediaType = raw.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest
        }
        if mediaType == MediaType.dockerSchema1 || mediaType == MediaType.dockerSchema1Signed || raw.schemaVersion == 1 {
            throw RegistryError(.manifestInvalid, message: "Docker schema1 manifests are not supported; push schema2 or OCI")
        }
        guard MediaType.acceptedManifestTypes.contains(mediaType) else {
            throw RegistryError(.manifestInvalid, message: "unsupported manifest media type \"\(mediaType)\"")
        }
        guard raw.schemaVersion == 2 else {
            throw RegistryError(.manifestInvalid, message: "schemaVersion must be 2")
        }
        self.mediaType = mediaType
        self.subject = raw.subject
        self.artifactType = raw.artifactType
        self.annotations = raw.annotations
        if mediaType == MediaType.ociIndex || mediaType == MediaType.dockerManifestList {
            guard let manifests = raw.manifests else {
                throw RegistryError(.manifestInvalid, message: "an index needs a \"manifests\" array")
            }
            kind = .index
            config = nil
            layers = []
            self.manifests = manifests
        } else {
            guard let config = raw.config else {
                throw RegistryError(.manifestInvalid, message: "an image manifest needs a \"config\" descriptor")
            }
            guard let layers = raw.layers else {
                throw RegistryError(.manifestInvalid, message: "an image manifest needs a \"layers\" array")
            }
            kind = .image
            self.config = config
            self.layers = layers
            manifests = []
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context):
            return "missing \"\(path(context.codingPath + [key]))\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \"\(path(context.codingPath))\""
        default:
            return "not JSON"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// The JSON shape shared by image manifests and indexes; every field optional so that
/// validation can say precisely what is missing.
private struct RawManifest: Decodable {
    var schemaVersion: Int?
    var mediaType: String?
    var config: Descriptor?
    var layers: [Descriptor]?
    var manifests: [Descriptor]?
    var subject: Descriptor?
    var artifactType: String?
    var annotations: [String: String]?
}
