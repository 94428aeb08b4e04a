import Foundation
import RegistryModel

/// The parts of an image's configuration blob (OCI image-spec `config.json`, the same fields as
/// Docker's) that describe an image to a person: what it runs, how it was built, and the
/// digests of its uncompressed layers. Unknown fields are ignored; every field is optional,
/// since registries hold configs written by many tools.
public struct ImageConfiguration: Sendable, Decodable, Equatable {
    public struct RunConfiguration: Sendable, Decodable, Equatable {
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var env: [String]?
        public var workingDir: String?
        public var user: String?
        public var labels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case entrypoint = "Entrypoint", cmd = "Cmd", env = "Env", workingDir = "WorkingDir", user = "User", labels = "Labels"
        }
    }

    public struct RootFS: Sendable, Decodable, Equatable {
        public var type: String?
        /// The digests of the layers' uncompressed tars, bottom layer first.
        public var diffIDs: [String]?

        enum CodingKeys: String, CodingKey {
            case type, diffIDs = "diff_ids"
        }
    }

    /// One build step. Steps that changed no files (`ENV`, `CMD`, ...) have `emptyLayer` true
    /// and no layer of their own; every other step made the next layer.
    public struct HistoryEntry: Sendable, Decodable, Equatable {
        public var created: String?
        public var createdBy: String?
        public var author: String?
        public var comment: String?
        public var emptyLayer: Bool?

        enum CodingKeys: String, CodingKey {
            case created, createdBy = "created_by", author, comment, emptyLayer = "empty_layer"
        }

        public init(created: String? = nil, createdBy: String? = nil, author: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
            self.created = created
            self.createdBy = createdBy
            self.author = author
            self.comment = comment
            self.emptyLayer = emptyLayer
        }
    }

    public var created: String?
    public var author: String?
    public var architecture: String?
    public var os: String?
    public var variant: String?
    public var config: RunConfiguration?
    public var rootfs: RootFS?
    public var history: [HistoryEntry]?

    /// The largest config this reads: real ones are a few KiB; a long history, a few hundred.
    public static let sizeLimit = 4 << 20

    public init(parsing bytes: [UInt8]) throws(ImageInspectionError) {
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(bytes))
        } catch {
            throw .invalidConfiguration("\(error)")
        }
    }

    /// `os/architecture[/variant]`, when the config names them.
    public var platform: Platform? {
        guard let os, let architecture else { return nil }
        return Platform(os: os, architecture: architecture, variant: variant)
    }

    /// The diff_id the config gives the layer at `index` (0 for the bottom one); nil when it
    /// lists none there or what it lists is not a digest.
    public func diffID(ofLayer index: Int) -> Digest? {
        guard let diffIDs = rootfs?.diffIDs, diffIDs.indices.contains(index) else { return nil }
        return try? Digest(parsing: diffIDs[index])
    }
}
