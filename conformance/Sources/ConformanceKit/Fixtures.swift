import Foundation

/// Test content the checker makes itself: random layers, configs, manifests and indexes, with
/// descriptors digested by the algorithm of the check that uses them.
enum Fixtures {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let ociEmpty = "application/vnd.oci.empty.v1+json"
    static let ociNondistributableLayer = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

    struct Image: Sendable {
        let config: [UInt8]
        let layers: [[UInt8]]
        let manifest: [UInt8]
        let algorithm: DigestAlgorithm
        var digest: String { algorithm.digest(manifest) }
        var descriptor: [String: Any] { ["mediaType": Fixtures.ociManifest, "digest": digest, "size": manifest.count] }
        var blobs: [[UInt8]] { [config] + layers }
    }

    static func config(diffIDs: [String], extra: [String: Any] = [:]) throws -> [UInt8] {
        var object: [String: Any] = [
            "architecture": "amd64", "os": "linux",
            "rootfs": ["type": "layers", "diff_ids": diffIDs],
            "created": "2024-01-01T00:00:00Z", "nonce": Digests.sha256(Digests.randomBytes(16)),
        ]
        object.merge(extra) { $1 }
        return try json(object)
    }

    static func image(layers: [[UInt8]], extra: [String: Any] = [:], algorithm: DigestAlgorithm = .sha256) throws -> Image {
        let config = try config(diffIDs: layers.map { algorithm.digest($0) })
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": ociManifest,
            "config": descriptor(ociConfig, config, algorithm),
            "layers": layers.map { descriptor(ociLayer, $0, algorithm) },
        ]
        object.merge(extra) { $1 }
        return Image(config: config, layers: layers, manifest: try json(object), algorithm: algorithm)
    }

    static func index(of images: [(Image, platform: [String: String])], extra: [String: Any] = [:]) throws -> [UInt8] {
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": ociIndex,
            "manifests": images.map { image, platform in
                var descriptor = image.descriptor
                descriptor["platform"] = platform
                return descriptor
            },
        ]
        object.merge(extra) { $1 }
        return try json(object)
    }

    static func descriptor(_ mediaType: String, _ bytes: [UInt8], _ algorithm: DigestAlgorithm) -> [String: Any] {
        ["mediaType": mediaType, "digest": algorithm.digest(bytes), "size": bytes.count]
    }

    static func json(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
