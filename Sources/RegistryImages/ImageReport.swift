import RegistryModel
import RegistryStorage

/// Everything `registry inspect` tells about a reference: the platforms of an index, and each
/// image's configuration, layers and history. Codable: `--json` prints it, the web UI renders it.
public struct ImageReport: Sendable, Codable, Equatable {
    /// Where it was read: a registry's URL or a root's path.
    public var source: String
    public var repository: RepositoryName
    /// The reference as asked (a tag or a digest).
    public var reference: String
    /// The digest and media type of the manifest the reference names.
    public var digest: Digest
    public var mediaType: String
    /// The entries of an index (nil for a single image), attestations included.
    public var platforms: [PlatformEntry]?
    /// One per image: the single image, or each image entry of an index.
    public var images: [ImageDetails]
}

/// One entry of an index.
public struct PlatformEntry: Sendable, Codable, Equatable {
    /// `os/architecture[/variant]`, or `unknown/unknown` as buildx labels attestations.
    public var platform: String
    public var digest: Digest
    public var mediaType: String
    public var size: Int64
    /// Set for entries that are not images to run: `attestation-manifest` for buildx's.
    public var referenceType: String?
}

public struct ImageDetails: Sendable, Codable, Equatable {
    public var digest: Digest
    public var mediaType: String
    public var configDigest: Digest
    /// `os/architecture[/variant]` from the config.
    public var platform: String?
    public var created: String?
    public var author: String?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var workingDir: String?
    public var user: String?
    public var env: [String]?
    /// Sorted by key.
    public var labels: [ImageLabel]
    public var annotations: [ImageLabel]
    public var layers: [LayerDetails]
    /// Oldest first, each step aligned with the layer it made.
    public var history: [HistoryStep]
    /// The compressed sizes of the config and the layers (each distinct blob once): what a
    /// pull with nothing cached downloads.
    public var compressedSize: Int64
    /// The bytes of the blobs (config, layers) no other manifest uses: what this image adds to
    /// the storage, and what deleting it would give back. Nil when the source cannot tell.
    public var uniqueSize: Int64?
    /// Uncompressed size, when every layer's was established by verification.
    public var uncompressedSize: Int64?
}

public struct ImageLabel: Sendable, Codable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

public struct LayerDetails: Sendable, Codable, Equatable {
    /// 0 for the bottom layer.
    public var index: Int
    public var mediaType: String
    /// The compressed blob's size: what the registry stores.
    public var size: Int64
    /// The distribution digest: of the compressed blob, the one the registry verifies and serves.
    public var digest: Digest
    /// The config's `rootfs.diff_ids` entry for the layer: the digest of the uncompressed tar
    /// (what `docker inspect` lists under `RootFS.Layers`). Nil when the config lacks it.
    public var diffID: Digest?
    /// From verification: the uncompressed tar's size, and whether its digest matched `diffID`.
    public var uncompressedSize: Int64?
    public var verified: Bool?
    /// The other manifests that use this layer (this image's own manifest excluded); nil when
    /// the source cannot tell.
    public var sharedWith: [BlobUse]?
}

/// One entry of the config's history.
public struct HistoryStep: Sendable, Codable, Equatable {
    public var created: String?
    public var createdBy: String?
    public var comment: String?
    public var emptyLayer: Bool
    /// The index of the layer this step made; nil for empty steps (and for steps the layers
    /// ran out before, in a config whose history does not match its layers).
    public var layer: Int?
    /// The layer's compressed size; 0 for an empty step.
    public var size: Int64
}
