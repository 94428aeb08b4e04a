import Foundation
import Logging
import RegistryModel
import RegistryStorage

/// Re-hashes every stored blob and compares it with its digest; finds blob records whose bytes
/// are missing, links and manifests pointing at blobs that are not stored, and files that no
/// record owns. With `repair`, a corrupt or missing blob is quarantined and forgotten, so that
/// it reads as absent and the next push of that digest stores it afresh for every repository.
public struct Scrubber: Sendable {
    public struct Options: Sendable, Equatable {
        public var repair: Bool
        /// Bytes hashed per second at most (nil: as fast as the disk goes).
        public var bytesPerSecond: Int64?

        public init(repair: Bool = false, bytesPerSecond: Int64? = nil) {
            self.repair = repair
            self.bytesPerSecond = bytesPerSecond
        }
    }

    let metadata: any MetadataMaintenance
    let blobs: any BlobStore
    let logger: Logger

    public init(metadata: any MetadataMaintenance, blobs: any BlobStore, logger: Logger) {
        self.metadata = metadata
        self.blobs = blobs
        self.logger = logger
    }

    static let chunkSize = 1 << 20
    static let recordsPerPage = 512

    public func scrub(_ options: Options) async throws -> ScrubReport {
        let clock = ContinuousClock()
        let started = clock.now
        var report = ScrubReport(repaired: options.repair)
        var throttle = Throttle(bytesPerSecond: options.bytesPerSecond, clock: clock)
        var recorded: Set<Digest> = []
        var last: Digest?
        while true {
            let page = try await metadata.blobRecords(after: last, limit: Self.recordsPerPage)
            for record in page {
                try Task.checkCancellation()
                recorded.insert(record.digest)
                switch try await check(record, throttle: &throttle) {
                case .intact:
                    report.checked += 1
                    report.bytes += record.size
                case .missing:
                    report.missing.append(record.digest)
                    logger.error("blob file missing", metadata: ["digest": "\(record.digest)"])
                    if options.repair {
                        let blobs = self.blobs
                        try await metadata.forgetBlob(record.digest) { try await blobs.dispose($0) }
                    }
                case .corrupt(let found):
                    report.checked += 1
                    report.bytes += record.size
                    report.corrupt.append(record.digest)
                    logger.error("blob bytes do not match their digest", metadata: ["digest": "\(record.digest)", "found": "\(found)"])
                    if options.repair {
                        let blobs = self.blobs
                        try await metadata.forgetBlob(record.digest) { try await blobs.dispose($0) }
                    }
                }
            }
            guard let next = page.last, page.count == Self.recordsPerPage else { break }
            last = next.digest
        }
        report.dangling = try await metadata.danglingBlobReferences()
            .filter { !report.corrupt.contains($0) && !report.missing.contains($0) }
        // Files without a record: left by a crash between a file's link and its transaction's
        // commit, or a commit in progress right now. Reported; garbage collection removes them
        // once they are older than its grace period.
        report.unrecorded = try await blobs.storedDigests().filter { !recorded.contains($0) }
        report.duration = clock.now - started
        return report
    }

    private enum Verdict {
        case intact
        case missing
        case corrupt(found: String)
    }

    private func check(_ record: BlobRecord, throttle: inout Throttle) async throws -> Verdict {
        guard let reader = try await blobs.open(record.digest) else { return .missing }
        var hasher = DigestHasher(algorithm: record.digest.algorithm)
        var length: Int64 = 0
        do {
            for try await chunk in reader.chunks(in: 0..<reader.size, chunkSize: Self.chunkSize) {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                length += Int64(chunk.readableBytes)
                try await throttle.account(Int64(chunk.readableBytes))
            }
        } catch {
            try? await reader.close()
            throw error
        }
        try await reader.close()
        let digest = hasher.finalize()
        if digest != record.digest { return .corrupt(found: digest.description) }
        if length != record.size { return .corrupt(found: "\(length) bytes, \(record.size) recorded") }
        return .intact
    }
}

/// Keeps an average rate under a limit by sleeping when ahead of it.
struct Throttle {
    let bytesPerSecond: Int64?
    let clock: ContinuousClock
    private let started: ContinuousClock.Instant
    private var bytes: Int64 = 0

    init(bytesPerSecond: Int64?, clock: ContinuousClock) {
        self.bytesPerSecond = bytesPerSecond
        self.clock = clock
        self.started = clock.now
    }

    mutating func account(_ count: Int64) async throws {
        guard let bytesPerSecond, bytesPerSecond > 0 else { return }
        bytes += count
        let due = started + .seconds(Double(bytes) / Double(bytesPerSecond))
        if due > clock.now { try await clock.sleep(until: due) }
    }
}

public struct ScrubReport: Sendable, Equatable {
    public var repaired: Bool
    /// Blobs hashed, and their bytes.
    public var checked = 0
    public var bytes: Int64 = 0
    /// Blobs whose bytes do not hash to their digest.
    public var corrupt: [Digest] = []
    /// Blob records whose file is gone.
    public var missing: [Digest] = []
    /// Digests that links or manifests point at but no stored blob backs.
    public var dangling: [Digest] = []
    /// Files under `blobs/` that no record owns.
    public var unrecorded: [Digest] = []
    public var duration: Duration = .zero

    public init(repaired: Bool) {
        self.repaired = repaired
    }

    public var isClean: Bool { corrupt.isEmpty && missing.isEmpty && dangling.isEmpty }
}
