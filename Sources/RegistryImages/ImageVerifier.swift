import Foundation
import NIOCore
import RegistryLayers
import RegistryModel
import RegistryStorage

/// What checking one layer found.
public struct LayerVerification: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// The blob hashes to its distribution digest and its tar to the config's diff_id.
        case ok
        /// The blob's bytes do not hash to the digest the manifest names.
        case digestMismatch = "digest mismatch"
        /// The blob is intact, but its uncompressed tar does not hash to the config's diff_id.
        case diffIDMismatch = "diff_id mismatch"
        /// The blob is intact; its media type is not a layer type this program can decompress.
        case unsupportedMediaType = "unsupported media type"
        /// The blob is intact but does not decompress (not gzip or zstd, or cut short).
        case corrupt
        /// The blob is intact; the config has no diff_id for this layer to compare with.
        case noDiffID = "no diff_id"
        /// The repository has no such blob.
        case missing
    }

    public var index: Int
    public var digest: Digest
    public var mediaType: String
    public var size: Int64
    /// What the config says, and what was computed.
    public var diffID: Digest?
    public var outcome: Outcome
    public var actualDigest: Digest?
    public var actualDiffID: Digest?
    public var uncompressedSize: Int64?
    /// Why decompression failed, for `corrupt`.
    public var detail: String?
}

public struct ImageVerification: Sendable, Codable, Equatable {
    public var digest: Digest
    public var platform: String?
    public var layers: [LayerVerification]

    public var isClean: Bool { layers.allSatisfy { $0.outcome == .ok } }
}

/// `registry verify`'s findings for a reference: one entry per image (per platform of an index).
public struct VerificationReport: Sendable, Codable, Equatable {
    public var source: String
    public var repository: RepositoryName
    public var reference: String
    public var digest: Digest
    public var images: [ImageVerification]

    public var isClean: Bool { images.allSatisfy(\.isClean) }
}

/// Checks an image's layers end to end: reads each blob once, hashing it (the distribution
/// digest) while decompressing it and hashing the tar that comes out (the diff_id), in bounded
/// memory whatever the layer's size. Layers found intact are remembered by the source (a root
/// records them in its metadata, so pages can show uncompressed sizes).
public struct ImageVerifier: Sendable {
    public let source: any ImageSource
    /// At most this many compressed bytes a second (nil: as fast as it goes): `registry scrub
    /// --diff-ids` runs beside a serving registry.
    public let bytesPerSecond: Int64?

    public init(source: any ImageSource, bytesPerSecond: Int64? = nil) {
        self.source = source
        self.bytesPerSecond = bytesPerSecond
    }

    public func verify(_ reference: Reference, in repository: RepositoryName) async throws -> VerificationReport {
        let top = try await source.manifest(reference, in: repository)
        let manifest = try ImageInspector.parse(top)
        var report = VerificationReport(
            source: source.location, repository: repository, reference: reference.description, digest: top.digest, images: [])
        var checked: [Digest: LayerVerification] = [:]
        for image in try await source.images(of: top, manifest, in: repository) {
            report.images.append(try await verifyImage(image.fetched, image.manifest, in: repository, checked: &checked))
        }
        return report
    }

    func verifyImage(
        _ fetched: SourceManifest, _ manifest: Manifest, in repository: RepositoryName, checked: inout [Digest: LayerVerification]
    ) async throws -> ImageVerification {
        guard let configDescriptor = manifest.config else { throw ImageInspectionError.notAnImage(mediaType: fetched.mediaType) }
        let config = try ImageConfiguration(parsing: try await source.blobBytes(configDescriptor.digest, in: repository))
        var layers: [LayerVerification] = []
        for (index, layer) in manifest.layers.enumerated() {
            let diffID = config.diffID(ofLayer: index)
            var result: LayerVerification
            if let earlier = checked[layer.digest], earlier.diffID == diffID {
                result = earlier
            } else {
                result = try await verifyLayer(layer, diffID: diffID, in: repository)
                checked[layer.digest] = result
            }
            result.index = index
            layers.append(result)
        }
        return ImageVerification(digest: fetched.digest, platform: config.platform?.description, layers: layers)
    }

    /// Reads one layer and judges it; records what it established when the blob is intact and
    /// its tar hashes to `diffID`.
    public func verifyLayer(_ layer: Descriptor, diffID: Digest?, in repository: RepositoryName) async throws -> LayerVerification {
        var result = LayerVerification(
            index: 0, digest: layer.digest, mediaType: layer.mediaType, size: layer.size, diffID: diffID, outcome: .ok)
        var blobHasher = DigestHasher(algorithm: layer.digest.algorithm)
        var tarHasher = DigestHasher(algorithm: diffID?.algorithm ?? .sha256)
        var uncompressed: Int64 = 0
        var decompressionError: (any Error)?
        let decompressor: LayerDecompressor?
        do {
            decompressor = try LayerDecompressor(mediaType: layer.mediaType)
        } catch {
            decompressor = nil
        }
        var pacer = Pacer(bytesPerSecond: bytesPerSecond)
        do {
            try await source.readBlob(layer.digest, in: repository) { buffer in
                buffer.withUnsafeReadableBytes { blobHasher.update(bufferPointer: $0) }
                if let decompressor, decompressionError == nil {
                    do {
                        try buffer.withUnsafeReadableBytes { bytes in
                            try decompressor.decompress(bytes) { piece in
                                tarHasher.update(bufferPointer: piece)
                                uncompressed += Int64(piece.count)
                            }
                        }
                    } catch {
                        decompressionError = error
                    }
                }
                try await pacer.pace(Int64(buffer.readableBytes))
            }
        } catch ImageInspectionError.blobNotFound {
            result.outcome = .missing
            return result
        }
        if let decompressor, decompressionError == nil {
            do {
                try decompressor.finish()
            } catch {
                decompressionError = error
            }
        }
        let actualDigest = blobHasher.finalize()
        result.actualDigest = actualDigest
        if actualDigest != layer.digest {
            result.outcome = .digestMismatch
            return result
        }
        guard decompressor != nil else {
            result.outcome = .unsupportedMediaType
            return result
        }
        if let decompressionError {
            result.outcome = .corrupt
            result.detail = "\(decompressionError)"
            return result
        }
        let actualDiffID = tarHasher.finalize()
        result.actualDiffID = actualDiffID
        result.uncompressedSize = uncompressed
        guard let diffID else {
            result.outcome = .noDiffID
            return result
        }
        if actualDiffID != diffID {
            result.outcome = .diffIDMismatch
            return result
        }
        try await source.recordLayerFacts(LayerFacts(
            digest: layer.digest, diffID: actualDiffID, uncompressedSize: uncompressed, verifiedAt: Date()))
        return result
    }
}

/// Holds a reader to a byte rate: after each buffer, sleeps until the bytes read so far are
/// no ahead of `bytesPerSecond`.
struct Pacer {
    let bytesPerSecond: Int64?
    private let start = ContinuousClock.now
    private var bytes: Int64 = 0

    init(bytesPerSecond: Int64?) {
        self.bytesPerSecond = bytesPerSecond
    }

    mutating func pace(_ count: Int64) async throws {
        guard let bytesPerSecond, bytesPerSecond > 0 else { return }
        bytes += count
        let due = start + .nanoseconds(Int64(Double(bytes) / Double(bytesPerSecond) * 1e9))
        if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
    }
}
