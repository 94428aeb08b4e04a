import ArgumentParser
import Crypto
import Foundation

/// The single-core SHA-256 rate of this machine with swift-crypto: the ceiling of a registry that
/// verifies digests while it receives a blob.
struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sha256",
        abstract: "Hash MiB of data with swift-crypto on one core and print the rate."
    )

    @Option(help: "MiB to hash.")
    var mib: Int = 1024

    func run() throws {
        // 1 MiB updates: the batch size a registry hashes per write.
        let block = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var hasher = SHA256()
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<mib {
            block.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        let digest = hasher.finalize()
        let seconds = (clock.now - started).seconds
        try printJSON([
            "mib": Double(mib),
            "seconds": seconds,
            "mib_per_s": Double(mib) / seconds,
            "digest_prefix": Double(digest.withUnsafeBytes { $0[0] }),
        ])
    }
}
