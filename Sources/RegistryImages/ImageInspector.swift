import RegistryModel
import RegistryStorage

/// Builds an ``ImageReport`` from a source: resolves the reference, reads each image's config,
/// lines the layers up with their diff_ids and the history with the layers, and asks the source
/// which other images share each layer.
public struct ImageInspector: Sendable {
    public let source: any ImageSource

    /// buildx's annotation on index entries that are attestations, not images to run.
    static let referenceTypeAnnotation = "vnd.docker.reference.type"

    public init(source: any ImageSource) {
        self.source = source
    }

    public func inspect(_ reference: Reference, in repository: RepositoryName) async throws -> ImageReport {
        let top = try await source.manifest(reference, in: repository)
        let manifest = try Self.parse(top)
        var report = ImageReport(
            source: source.location, repository: repository, reference: reference.description, digest: top.digest,
            mediaType: top.mediaType, platforms: nil, images: [])
        if manifest.kind == .index {
            // Every entry is listed; only the images among them are inspected.
            report.platforms = manifest.manifests.map { entry in
                PlatformEntry(
                    platform: entry.platform?.description ?? "unknown", digest: entry.digest, mediaType: entry.mediaType,
                    size: entry.size, referenceType: entry.annotations?[Self.referenceTypeAnnotation])
            }
        }
        for image in try await source.images(of: top, manifest, in: repository) {
            report.images.append(try await self.image(image.fetched, image.manifest, in: repository))
        }
        return report
    }

    static func parse(_ manifest: SourceManifest) throws -> Manifest {
        do {
            return try Manifest(parsing: manifest.bytes, contentType: manifest.mediaType)
        } catch {
            throw ImageInspectionError.invalidManifest(error.message)
        }
    }

    private func image(_ fetched: SourceManifest, _ manifest: Manifest, in repository: RepositoryName) async throws -> ImageDetails {
        guard let configDescriptor = manifest.config else { throw ImageInspectionError.notAnImage(mediaType: fetched.mediaType) }
        let config = try ImageConfiguration(parsing: try await source.blobBytes(configDescriptor.digest, in: repository))

        // One document per distinct blob: its uses and what verifying it found. A source that
        // cannot tell for one cannot tell for any.
        var documents: [Digest: LayerDocument]? = [:]
        for blob in manifest.referencedBlobs where documents?[blob.digest] == nil {
            guard let document = try await source.layerDocument(blob.digest, in: repository) else {
                documents = nil
                break
            }
            documents?[blob.digest] = document
        }
        // Every other manifest that uses a blob; this image's own is not sharing.
        func sharing(_ digest: Digest) -> [BlobUse]? {
            documents.map { ($0[digest]?.uses ?? []).filter { !($0.repository == repository && $0.manifest == fetched.digest) } }
        }

        let layers = manifest.layers.enumerated().map { index, layer in
            let diffID = config.diffID(ofLayer: index)
            let fact = documents?[layer.digest]?.facts
            return LayerDetails(
                index: index, mediaType: layer.mediaType, size: layer.size, digest: layer.digest, diffID: diffID,
                uncompressedSize: fact?.uncompressedSize, verified: fact.map { diffID == $0.diffID },
                sharedWith: sharing(layer.digest))
        }

        var distinct: [Digest: Int64] = [:]
        for blob in manifest.referencedBlobs { distinct[blob.digest] = blob.size }
        let unique = documents == nil ? nil : distinct.filter { sharing($0.key)?.isEmpty ?? true }.values.reduce(0, +)
        let uncompressed: Int64? = layers.allSatisfy({ $0.uncompressedSize != nil })
            ? layers.reduce(0) { $0 + ($1.uncompressedSize ?? 0) } : nil
        return ImageDetails(
            digest: fetched.digest, mediaType: fetched.mediaType, configDigest: configDescriptor.digest,
            platform: config.platform?.description, created: config.created, author: config.author,
            entrypoint: config.config?.entrypoint, cmd: config.config?.cmd, workingDir: config.config?.workingDir,
            user: config.config?.user, env: config.config?.env,
            labels: Self.sorted(config.config?.labels), annotations: Self.sorted(manifest.annotations),
            layers: layers, history: Self.history(config.history ?? [], layers: layers),
            compressedSize: distinct.values.reduce(0, +), uniqueSize: unique, uncompressedSize: uncompressed)
    }

    static func sorted(_ dictionary: [String: String]?) -> [ImageLabel] {
        (dictionary ?? [:]).sorted { $0.key < $1.key }.map { ImageLabel(key: $0.key, value: $0.value) }
    }

    /// Lines the history up with the layers as `docker history` does: every entry that is not
    /// `empty_layer` made the next layer, bottom first.
    static func history(_ entries: [ImageConfiguration.HistoryEntry], layers: [LayerDetails]) -> [HistoryStep] {
        var next = 0
        return entries.map { entry in
            let empty = entry.emptyLayer ?? false
            var layer: Int?
            if !empty, next < layers.count {
                layer = next
                next += 1
            }
            return HistoryStep(
                created: entry.created, createdBy: entry.createdBy, comment: entry.comment, emptyLayer: empty, layer: layer,
                size: layer.map { layers[$0].size } ?? 0)
        }
    }
}
