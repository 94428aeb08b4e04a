import RegistryCore
import RegistryModel
import RegistryStorage

/// `registry scrub --diff-ids`: verifies the layers of every tagged image of a root (each
/// distinct layer once; those verified before are skipped unless `again`), at a byte rate, and
/// records what it establishes, so that pages and `inspect` show uncompressed sizes.
public struct DiffIDScrub: Sendable {
    public struct Report: Sendable, Codable, Equatable {
        public var repositories = 0
        public var tags = 0
        public var layersVerified = 0
        public var layersAlreadyVerified = 0
        public var compressedBytesRead: Int64 = 0
        /// Every layer that is not ok, with the first tag it was found under.
        public var problems: [Problem] = []

        public var isClean: Bool { problems.isEmpty }
    }

    public struct Problem: Sendable, Codable, Equatable {
        public var repository: RepositoryName
        public var tag: Tag
        public var layer: LayerVerification
    }

    let source: RootImageSource
    let verifier: ImageVerifier
    let again: Bool

    public init(source: RootImageSource, bytesPerSecond: Int64?, again: Bool = false) {
        self.source = source
        self.verifier = ImageVerifier(source: source, bytesPerSecond: bytesPerSecond)
        self.again = again
    }

    public func run() async throws -> Report {
        var report = Report()
        var seen: Set<Digest> = []
        var lastRepository: String?
        repeat {
            let page = try await source.registry.repositories(limit: 1000, after: lastRepository)
            for name in page.items {
                guard let repository = RepositoryName(name) else { continue }
                report.repositories += 1
                try await scrub(repository, report: &report, seen: &seen)
            }
            lastRepository = page.hasMore ? page.items.last : nil
        } while lastRepository != nil
        return report
    }

    private func scrub(_ repository: RepositoryName, report: inout Report, seen: inout Set<Digest>) async throws {
        var lastTag: String?
        repeat {
            let page: Page
            do {
                page = try await source.registry.tags(in: repository, limit: 1000, after: lastTag)
            } catch let error as RegistryError where error.code == .nameUnknown {
                return
            }
            for name in page.items {
                guard let tag = Tag(name) else { continue }
                report.tags += 1
                try await scrub(tag, in: repository, report: &report, seen: &seen)
            }
            lastTag = page.hasMore ? page.items.last : nil
        } while lastTag != nil
    }

    private func scrub(_ tag: Tag, in repository: RepositoryName, report: inout Report, seen: inout Set<Digest>) async throws {
        let top: SourceManifest
        do {
            top = try await source.manifest(.tag(tag), in: repository)
        } catch ImageInspectionError.manifestNotFound {
            return  // untagged meanwhile
        }
        guard let manifest = try? ImageInspector.parse(top) else { return }
        var images: [Manifest] = []
        if manifest.kind == .image {
            images = [manifest]
        } else {
            for entry in manifest.manifests where entry.annotations?[ImageInspector.referenceTypeAnnotation] == nil {
                guard let child = try? await source.manifest(.digest(entry.digest), in: repository),
                      let parsed = try? ImageInspector.parse(child), parsed.kind == .image
                else { continue }
                images.append(parsed)
            }
        }
        for image in images {
            guard let configDescriptor = image.config,
                  let config = try? ImageConfiguration(parsing: try await source.blobBytes(configDescriptor.digest, in: repository))
            else { continue }
            let known = again ? [:] : try await source.registry.layerFacts(image.layers.map(\.digest))
            for (index, layer) in image.layers.enumerated() where seen.insert(layer.digest).inserted {
                let diffID = config.diffID(ofLayer: index)
                if let fact = known[layer.digest], fact.diffID == diffID {
                    report.layersAlreadyVerified += 1
                    continue
                }
                var result = try await verifier.verifyLayer(layer, diffID: diffID, in: repository)
                result.index = index
                report.layersVerified += 1
                report.compressedBytesRead += result.outcome == .missing ? 0 : layer.size
                if result.outcome != .ok {
                    report.problems.append(Problem(repository: repository, tag: tag, layer: result))
                }
            }
        }
    }
}
