import Foundation

/// One kind of content a registry must store and serve as pushed (the data-driven part of the
/// suite): its blobs, its manifests in push order (children first), its tags, and the
/// referrer relations its subjects create. Digests use the algorithm it is built with.
struct VariantContent {
    struct Manifest {
        let bytes: [UInt8]
        let mediaType: String
        let digest: String
        /// The `subject` digest, if the manifest has one.
        let subject: String?
        /// What the referrers list must say in `artifactType` for it (`nil`: absent).
        let referrerArtifactType: String?
    }

    let algorithm: DigestAlgorithm
    let tagSuffix: String
    private(set) var blobs: [[UInt8]] = []
    private(set) var manifests: [Manifest] = []
    private(set) var tags: [(tag: String, manifest: Int)] = []

    init(algorithm: DigestAlgorithm, tagSuffix: String) {
        self.algorithm = algorithm
        self.tagSuffix = tagSuffix
    }

    /// Adds a blob to push; returns its descriptor.
    mutating func blob(_ bytes: [UInt8], _ mediaType: String) -> [String: Any] {
        if !blobs.contains(bytes) { blobs.append(bytes) }
        return Fixtures.descriptor(mediaType, bytes, algorithm)
    }

    /// Adds an image config for `layers` (their descriptors) and returns its descriptor.
    mutating func config(layers: [[String: Any]], extra: [String: Any] = [:]) throws -> [String: Any] {
        blob(try Fixtures.config(diffIDs: layers.compactMap { $0["digest"] as? String }, extra: extra), Fixtures.ociConfig)
    }

    /// Adds a manifest (image manifest or index, per its `mediaType`) serialized as given, tagged
    /// `tag` (with the run's suffix) if set; returns its descriptor.
    @discardableResult
    mutating func manifest(_ object: [String: Any], tag: String? = nil, bytes: [UInt8]? = nil) throws -> [String: Any] {
        let mediaType = object["mediaType"] as? String ?? Fixtures.ociManifest
        let bytes = try bytes ?? Fixtures.json(object)
        let digest = algorithm.digest(bytes)
        let subject = (object["subject"] as? [String: Any])?["digest"] as? String
        var artifactType = object["artifactType"] as? String
        if artifactType == nil, mediaType == Fixtures.ociManifest {
            artifactType = (object["config"] as? [String: Any])?["mediaType"] as? String
        }
        manifests.append(Manifest(bytes: bytes, mediaType: mediaType, digest: digest, subject: subject, referrerArtifactType: artifactType))
        if let tag { tags.append(("\(tag)-\(tagSuffix)", manifests.count - 1)) }
        var descriptor: [String: Any] = ["mediaType": mediaType, "digest": digest, "size": bytes.count]
        if let artifactType = object["artifactType"] { descriptor["artifactType"] = artifactType }
        return descriptor
    }

    /// Adds an image with `layerCount` random layers; returns its manifest descriptor.
    @discardableResult
    mutating func image(layerCount: Int = 2, tag: String? = nil, extra: [String: Any] = [:]) throws -> [String: Any] {
        let layers = (0..<layerCount).map { _ in blob(Digests.randomBytes(256), Fixtures.ociLayer) }
        var object: [String: Any] = ["schemaVersion": 2, "mediaType": Fixtures.ociManifest, "config": try config(layers: layers), "layers": layers]
        object.merge(extra) { $1 }
        return try manifest(object, tag: tag)
    }

    static func index(_ manifests: [[String: Any]], extra: [String: Any] = [:]) -> [String: Any] {
        var object: [String: Any] = ["schemaVersion": 2, "mediaType": Fixtures.ociIndex, "manifests": manifests]
        object.merge(extra) { $1 }
        return object
    }

    static func platform(_ descriptor: [String: Any], _ architecture: String) -> [String: Any] {
        descriptor.merging(["platform": ["os": "linux", "architecture": architecture]]) { $1 }
    }
}

/// The content variants, each checked by one check per digest algorithm.
struct ContentVariant: Sendable {
    /// The check's name.
    let name: String
    let build: @Sendable (inout VariantContent) throws -> Void

    static let all: [ContentVariant] = [
        ContentVariant(name: "imageRoundTrips") { content in
            try content.image(tag: "image")
        },
        ContentVariant(name: "largeManifestIsAccepted") { content in
            // About 4 MB (the spec: registries should accept at least 4 megabytes), under 4 MiB.
            let annotations = Dictionary(uniqueKeysWithValues: (0..<400).map { ("org.conformance.large.\($0)", String(repeating: "A", count: 10_000)) })
            try content.image(tag: "large-manifest", extra: ["annotations": annotations])
        },
        ContentVariant(name: "imageIndexRoundTrips") { content in
            let amd64 = try content.image()
            let arm64 = try content.image()
            try content.manifest(VariantContent.index([VariantContent.platform(amd64, "amd64"), VariantContent.platform(arm64, "arm64")]), tag: "index")
        },
        ContentVariant(name: "nestedIndexRoundTrips") { content in
            let amd64 = try content.image()
            let arm64 = try content.image()
            let inner = try content.manifest(VariantContent.index([VariantContent.platform(amd64, "amd64"), VariantContent.platform(arm64, "arm64")]))
            let other = try content.image()
            try content.manifest(VariantContent.index([inner, VariantContent.platform(other, "s390x")]), tag: "index-of-index")
        },
        ContentVariant(name: "emptyIndexRoundTrips") { content in
            try content.manifest(VariantContent.index([]), tag: "empty-index")
        },
        ContentVariant(name: "artifactManifestRoundTrips") { content in
            let empty = content.blob(Array("{}".utf8), Fixtures.ociEmpty)
            let data = content.blob(Digests.randomBytes(300), "application/vnd.conformance.data")
            try content.manifest([
                "schemaVersion": 2, "mediaType": Fixtures.ociManifest, "artifactType": "application/vnd.conformance.artifact",
                "config": empty, "layers": [data],
            ], tag: "artifact")
        },
        ContentVariant(name: "artifactIndexRoundTrips") { content in
            let amd64 = try content.image()
            let arm64 = try content.image()
            try content.manifest(VariantContent.index(
                [VariantContent.platform(amd64, "amd64"), VariantContent.platform(arm64, "arm64")],
                extra: ["artifactType": "application/vnd.conformance.artifact-index"]), tag: "artifact-index")
        },
        ContentVariant(name: "artifactWithoutLayersRoundTrips") { content in
            let empty = content.blob(Array("{}".utf8), Fixtures.ociEmpty)
            try content.manifest([
                "schemaVersion": 2, "mediaType": Fixtures.ociManifest, "artifactType": "application/vnd.conformance.bare",
                "config": empty, "layers": [empty],
                "annotations": ["org.conformance.note": "the empty descriptor as its only layer"],
            ], tag: "artifact-without-layers")
        },
        ContentVariant(name: "imageWithReferrersRoundTrips") { content in
            let subject = try content.image(tag: "subject")
            for kind in ["signature", "sbom"] {
                let empty = content.blob(Array("{}".utf8), Fixtures.ociEmpty)
                let payload = content.blob(Digests.randomBytes(128), "application/vnd.conformance.\(kind)")
                try content.manifest([
                    "schemaVersion": 2, "mediaType": Fixtures.ociManifest, "artifactType": "application/vnd.conformance.\(kind)",
                    "config": empty, "layers": [payload], "subject": subject,
                    "annotations": ["org.opencontainers.conformance": "hello conformance test"],
                ], tag: "tagged-\(kind)")
            }
        },
        ContentVariant(name: "manifestWithAMissingSubjectRoundTrips") { content in
            let missing: [String: Any] = [
                "mediaType": Fixtures.ociManifest, "digest": content.algorithm.digest(Digests.randomBytes(123)), "size": 123,
            ]
            let empty = content.blob(Array("{}".utf8), Fixtures.ociEmpty)
            try content.manifest([
                "schemaVersion": 2, "mediaType": Fixtures.ociManifest, "artifactType": "application/vnd.conformance.orphan",
                "config": empty, "layers": [empty], "subject": missing,
            ], tag: "orphan")
        },
        ContentVariant(name: "indexWithASubjectRoundTrips") { content in
            let subject = try content.image(tag: "index-subject")
            let child = try content.image()
            try content.manifest(VariantContent.index([VariantContent.platform(child, "amd64")], extra: [
                "subject": subject, "annotations": ["org.opencontainers.conformance": "index with subject"],
            ]), tag: "index-referrer")
        },
        ContentVariant(name: "descriptorsWithDataRoundTrip") { content in
            let layerBytes = Digests.randomBytes(64)
            var layer = content.blob(layerBytes, Fixtures.ociLayer)
            layer["data"] = Data(layerBytes).base64EncodedString()
            var config = try content.config(layers: [layer])
            config["data"] = Data(content.blobs.last!).base64EncodedString()
            try content.manifest(["schemaVersion": 2, "mediaType": Fixtures.ociManifest, "config": config, "layers": [layer]], tag: "data-field")
        },
        ContentVariant(name: "nonDistributableLayersAreNotRequired") { content in
            // The non-distributable layer lives elsewhere (its `urls`); it is never pushed.
            let external = Digests.randomBytes(512)
            let externalDigest = content.algorithm.digest(external)
            let foreign: [String: Any] = [
                "mediaType": Fixtures.ociNondistributableLayer, "digest": externalDigest, "size": external.count,
                "urls": ["https://store.example.com/blobs/\(externalDigest.replacingOccurrences(of: ":", with: "/"))"],
            ]
            let local = content.blob(Digests.randomBytes(256), Fixtures.ociLayer)
            let config = try content.config(layers: [foreign, local])
            try content.manifest(["schemaVersion": 2, "mediaType": Fixtures.ociManifest, "config": config, "layers": [foreign, local]], tag: "non-distributable")
        },
        ContentVariant(name: "unknownFieldsAreKeptByteExact") { content in
            // Extra fields everywhere, written with unusual but valid whitespace.
            let custom: [String: Any] = ["org.conformance.custom": ["nested": [1, 2, 3], "text": "kept as pushed"]]
            let layer = content.blob(Digests.randomBytes(256), Fixtures.ociLayer)
            var config = try content.config(layers: [layer], extra: custom)
            config["org.conformance.descriptor-field"] = "unknown"
            let image: [String: Any] = ["schemaVersion": 2, "mediaType": Fixtures.ociManifest, "config": config, "layers": [layer], "org.conformance.field": custom]
            let imageDescriptor = try content.manifest(image, bytes: Array(try JSONSerialization.data(withJSONObject: image, options: [.prettyPrinted, .sortedKeys])))
            let index = VariantContent.index([VariantContent.platform(imageDescriptor, "amd64")], extra: ["org.conformance.field": custom])
            let pretty = String(decoding: try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted]), as: UTF8.self)
            try content.manifest(index, tag: "custom-fields", bytes: Array(("\n\t " + pretty + " \n").utf8))
        },
        ContentVariant(name: "imageWithoutLayersRoundTrips") { content in
            try content.image(layerCount: 0, tag: "no-layers")
        },
    ]
}
