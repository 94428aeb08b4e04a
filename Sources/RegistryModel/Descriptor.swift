/// An OCI content descriptor: what a manifest says about a blob or another manifest.
public struct Descriptor: Sendable, Hashable, Codable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var artifactType: String?
    public var annotations: [String: String]?

    public init(
        mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil,
        artifactType: String? = nil, annotations: [String: String]? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.artifactType = artifactType
        self.annotations = annotations
    }

    enum CodingKeys: String, CodingKey {
        case mediaType, digest, size, platform, artifactType, annotations
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try container.decode(String.self, forKey: .mediaType)
        let digestString = try container.decode(String.self, forKey: .digest)
        do {
            digest = try Digest(parsing: digestString)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .digest, in: container, debugDescription: "invalid or unsupported digest \"\(digestString)\"")
        }
        size = try container.decode(Int64.self, forKey: .size)
        guard size >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .size, in: container, debugDescription: "negative size")
        }
        platform = try container.decodeIfPresent(Platform.self, forKey: .platform)
        artifactType = try container.decodeIfPresent(String.self, forKey: .artifactType)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mediaType, forKey: .mediaType)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(size, forKey: .size)
        try container.encodeIfPresent(platform, forKey: .platform)
        try container.encodeIfPresent(artifactType, forKey: .artifactType)
        try container.encodeIfPresent(annotations, forKey: .annotations)
    }
}

/// The platform of an index entry.
public struct Platform: Sendable, Hashable, Codable, CustomStringConvertible {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// Parses `os/arch[/variant]`, e.g. `linux/arm64/v8`.
    public init?(parsing string: String) {
        let parts = string.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// Whether an index entry with platform `candidate` serves this platform. A wanted platform
    /// without a variant matches any variant.
    public func isSatisfied(by candidate: Platform) -> Bool {
        guard candidate.os == os, candidate.architecture == architecture else { return false }
        guard let variant else { return true }
        return candidate.variant == variant
    }
}
