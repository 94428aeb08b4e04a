import Foundation

/// Test content the checker makes itself: random layers, configs, manifests and indexes.
enum Fixtures {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"
    static let ociConfig = "application/vnd.oci.image.config.v1+json"
    static let ociLayer = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let ociEmpty = "application/vnd.oci.empty.v1+json"

    struct Image: Sendable {
        let config: [UInt8]
        let layers: [[UInt8]]
        let manifest: [UInt8]
        var digest: String { Digests.sha256(manifest) }
        var descriptor: [String: Any] { ["mediaType": Fixtures.ociManifest, "digest": digest, "size": manifest.count] }
    }

    static func image(layers: [[UInt8]], extra: [String: Any] = [:]) throws -> Image {
        let config = try json([
            "architecture": "amd64", "os": "linux",
            "rootfs": ["type": "layers", "diff_ids": layers.map { Digests.sha256($0) }],
            "created": "2024-01-01T00:00:00Z", "nonce": Digests.sha256(Digests.randomBytes(16)),
        ])
        var object: [String: Any] = [
            "schemaVersion": 2, "mediaType": ociManifest,
            "config": ["mediaType": ociConfig, "digest": Digests.sha256(config), "size": config.count],
            "layers": layers.map { ["mediaType": ociLayer, "digest": Digests.sha256($0), "size": $0.count] },
        ]
        object.merge(extra) { $1 }
        return Image(config: config, layers: layers, manifest: try json(object))
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

    static func json(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
