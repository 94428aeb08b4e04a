import Crypto
import NIOCore

/// Bytes to push and their digest, computed before any timing starts.
struct Blob: Sendable {
    static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"

    let bytes: ByteBuffer
    let digest: String

    init(_ bytes: [UInt8]) {
        self.bytes = ByteBuffer(bytes: bytes)
        digest = "sha256:" + SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// `size` pseudo-random bytes, different for every (seed, index).
    static func random(size: Int, seed: Int, index: Int) -> Blob {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(truncatingIfNeeded: index) &+ 1
        var bytes = [UInt8]()
        bytes.reserveCapacity(size)
        while bytes.count < size {
            // SplitMix64.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { bytes.append(contentsOf: $0.prefix(size - bytes.count)) }
        }
        return Blob(bytes)
    }

    /// An OCI image manifest of one config and one layer.
    static func manifest(config: Blob, layer: Blob, tag: String) -> ByteBuffer {
        let json = """
            {"schemaVersion":2,"mediaType":"\(manifestMediaType)",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(config.digest)","size":\(config.bytes.readableBytes)},\
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layer.digest)","size":\(layer.bytes.readableBytes)}],\
            "annotations":{"org.example.bench.tag":"\(tag)"}}
            """
        return ByteBuffer(string: json)
    }
}
