import Foundation
import NIOCore
import RegistryLayers
import RegistryMirror
import RegistryModel

/// `registry squash`: a new image with one layer holding the source image's final filesystem.
///
/// For each image (each platform of an index): a first pass reads every layer's tar headers
/// and plans which entries survive (``SquashPlanner``); a second pass reads the layers again,
/// bottom first, and writes the surviving entries into one gzip layer in a temporary file
/// (``SquashedLayerWriter``). The config keeps everything but `rootfs.diff_ids`, which has the
/// one new diff_id, and `history`, whose entries are all kept, marked as making no layer, with
/// one more that made the squashed layer. The source is only read.
public struct ImageSquasher: Sendable {
    public struct ImageSquash: Sendable, Codable, Equatable {
        public var platform: String?
        public var sourceDigest: Digest
        public var digest: Digest
        public var layersBefore: Int
        public var compressedBefore: Int64
        public var uncompressedBefore: Int64
        public var entriesBefore: Int
        public var compressedAfter: Int64
        public var uncompressedAfter: Int64
        public var entriesAfter: Int
    }

    public struct Report: Sendable, Codable, Equatable {
        public var source: String
        public var destination: String
        /// What the destination tag now names: the image, or the new index.
        public var digest: Digest
        public var mediaType: String
        public var images: [ImageSquash]
    }

    public let source: any ImageSource
    public let destination: any MirrorDestination
    /// Where squashed layers are written before they are uploaded (each removed after).
    public let workDirectory: String
    private let clock: @Sendable () -> Date

    public init(source: any ImageSource, destination: any MirrorDestination, workDirectory: String, clock: @escaping @Sendable () -> Date = Date.init) {
        self.source = source
        self.destination = destination
        self.workDirectory = workDirectory
        self.clock = clock
    }

    public func squash(_ reference: Reference, in repository: RepositoryName, to tag: Tag) async throws -> Report {
        let top = try await source.manifest(reference, in: repository)
        let manifest = try ImageInspector.parse(top)
        let name = "\(repository)\(reference.description.contains(":") ? "@" : ":")\(reference)"
        var report = Report(
            source: "\(source.location)/\(name)", destination: destination.description, digest: top.digest, mediaType: top.mediaType, images: [])
        if manifest.kind == .image {
            let (squashed, bytes) = try await squashImage(top, manifest, named: name, in: repository)
            try await destination.putManifest(bytes, mediaType: top.mediaType, as: .tag(tag))
            report.digest = squashed.digest
            report.images = [squashed]
            return report
        }
        // An index: each image squashed and pushed by digest, then a new index of them.
        var entries: [Descriptor] = []
        for image in try await source.images(of: top, manifest, in: repository) {
            var (squashed, bytes) = try await squashImage(image.fetched, image.manifest, named: name, in: repository)
            let platform = image.entry?.platform
            squashed.platform = platform?.description ?? squashed.platform
            try await destination.putManifest(bytes, mediaType: image.fetched.mediaType, as: .digest(squashed.digest))
            entries.append(Descriptor(mediaType: image.fetched.mediaType, digest: squashed.digest, size: Int64(bytes.count), platform: platform))
            report.images.append(squashed)
        }
        let index = try Self.json([
            "schemaVersion": 2, "mediaType": top.mediaType,
            "manifests": try entries.map { try JSONSerialization.jsonObject(with: JSONEncoder().encode($0)) },
        ])
        try await destination.putManifest(index, mediaType: top.mediaType, as: .tag(tag))
        report.digest = DigestHasher.digest(of: index)
        return report
    }

    /// Squashes one image and uploads its layer and config; returns the new manifest's bytes
    /// (not yet pushed: the caller decides under which reference).
    private func squashImage(
        _ fetched: SourceManifest, _ manifest: Manifest, named name: String, in repository: RepositoryName
    ) async throws -> (ImageSquash, [UInt8]) {
        guard let configDescriptor = manifest.config else { throw ImageInspectionError.notAnImage(mediaType: fetched.mediaType) }
        let configBytes = try await source.blobBytes(configDescriptor.digest, in: repository)

        // Pass 1: every layer's entries, then the plan, top layer first.
        var listings: [[SquashPlanner.Entry]] = []
        var uncompressedBefore: Int64 = 0
        for layer in manifest.layers {
            var entries: [SquashPlanner.Entry] = []
            uncompressedBefore += try await source.readTar(layer, in: repository) { event in
                if case .entry(let entry) = event {
                    entries.append(.init(
                        ordinal: entries.count, path: LayerPath(entry.path), type: entry.type,
                        linkTarget: entry.type == .hardLink ? LayerPath(entry.linkName) : nil))
                }
            }
            listings.append(entries)
        }
        var planner = SquashPlanner()
        var plans = [SquashPlanner.LayerPlan](repeating: .init(), count: listings.count)
        for index in listings.indices.reversed() {
            plans[index] = planner.plan(layer: listings[index])
        }
        let entriesKept = plans.reduce(0) { $0 + $1.kept.count }

        // Pass 2: the kept entries, bottom layer first, into one layer.
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let file = workDirectory + "/squash-\(UUID().uuidString).tar.gz"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let writer = try SquashedLayerWriter(path: file)
        for (index, layer) in manifest.layers.enumerated() {
            let plan = plans[index]
            var ordinal = -1
            var copying = false
            try await source.readTar(layer, in: repository) { event in
                switch event {
                case .entry(var entry):
                    ordinal += 1
                    var path = LayerPath(entry.path)
                    if let adopter = plan.adoptedBy[ordinal] {
                        path = adopter
                    } else if !plan.kept.contains(ordinal) || plan.relinked[ordinal] == .some(nil) {
                        path = nil
                    } else if case .some(.some(let target)) = plan.relinked[ordinal] {
                        entry.linkName = target.description
                    }
                    copying = path != nil
                    guard let path else { return }
                    entry.path = entry.type == .directory ? "\(path)/" : path.description
                    try writer.begin(entry)
                case .data(let bytes):
                    if copying { try writer.write(bytes) }
                case .entryEnd:
                    if copying { try writer.end() }
                    copying = false
                }
            }
        }
        let layer = try writer.finish()

        let layerType = fetched.mediaType == MediaType.dockerManifest ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip
        if try await !destination.hasBlob(layer.digest) {
            try await destination.pushBlob(layer.digest, length: layer.size, body: FileChunks(path: file))
        }
        let config = try squashedConfig(configBytes, diffID: layer.diffID, layers: manifest.layers.count, source: name)
        let configDigest = DigestHasher.digest(of: config)
        if try await !destination.hasBlob(configDigest) {
            let (body, continuation) = AsyncStream<ByteBuffer>.makeStream()
            continuation.yield(ByteBuffer(bytes: config))
            continuation.finish()
            try await destination.pushBlob(configDigest, length: Int64(config.count), body: body)
        }
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": fetched.mediaType,
            "config": ["mediaType": configDescriptor.mediaType, "digest": configDigest.description, "size": config.count],
            "layers": [["mediaType": layerType, "digest": layer.digest.description, "size": layer.size]],
        ]
        if let annotations = manifest.annotations { object["annotations"] = annotations }
        let bytes = try Self.json(object)
        let parsedConfig = try? ImageConfiguration(parsing: configBytes)
        let squashed = ImageSquash(
            platform: parsedConfig?.platform?.description, sourceDigest: fetched.digest, digest: DigestHasher.digest(of: bytes),
            layersBefore: manifest.layers.count, compressedBefore: manifest.layers.reduce(0) { $0 + $1.size },
            uncompressedBefore: uncompressedBefore, entriesBefore: listings.reduce(0) { $0 + $1.count },
            compressedAfter: layer.size, uncompressedAfter: layer.uncompressedSize, entriesAfter: entriesKept)
        return (squashed, bytes)
    }

    /// The source config with one diff_id, and a history that keeps every entry (as making no
    /// layer now) plus the step that made the squashed layer, so that history and layers still
    /// line up for `docker history`.
    func squashedConfig(_ bytes: [UInt8], diffID: Digest, layers: Int, source name: String) throws -> [UInt8] {
        guard var config = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ImageInspectionError.invalidConfiguration("not a JSON object")
        }
        config["rootfs"] = ["type": "layers", "diff_ids": [diffID.description]]
        var history = (config["history"] as? [[String: Any]] ?? []).map { entry in
            var entry = entry
            entry["empty_layer"] = true
            return entry
        }
        history.append([
            "created": clock().formatted(Date.ISO8601FormatStyle()),
            "created_by": "registry squash",
            "comment": "squashed \(layers) layer(s) of \(name)",
        ])
        config["history"] = history
        return try Self.json(config)
    }

    static func json(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
