import Foundation
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage

/// Records which tags are pulled (for retention rules: "pulled within") and which blob links
/// are used (for garbage collection's grace period: a layer a client just saw is about to be
/// referenced by a manifest).
///
/// Tag pulls are a best-effort figure, collected in memory and written in one transaction per
/// ``flush()``. Blob uses are a promise to clients, so they are durable before the request that
/// made them is answered, whichever process runs the collection: ``used(_:in:)`` writes the
/// link's new time, unless it already wrote it within ``coalescingWindow``. Garbage collection
/// adds that window to its grace period, so a blob seen at any instant is kept for the whole
/// grace period after it.
public final class UseRecorder: Sendable {
    /// How recent a durable record of a blob's use must be for another use not to write again:
    /// a blob pulled or HEADed many times a second costs one write a second.
    public static let coalescingWindow: Duration = .seconds(1)

    /// Past this many pending entries new ones are dropped until the next flush: the figures
    /// are a best effort, memory is not. Also the most blob uses remembered as recently written.
    static let capacity = 100_000

    private struct Pending {
        var tags: [RepositoryName: Set<Tag>] = [:]
        var count = 0
    }

    private struct BlobUse: Hashable {
        var repository: RepositoryName
        var digest: Digest
    }

    private let metadata: any MetadataMaintenance
    private let pending = NIOLockedValueBox(Pending())
    /// When each recently used blob link was last written.
    private let written = NIOLockedValueBox([BlobUse: ContinuousClock.Instant]())

    public init(metadata: any MetadataMaintenance) {
        self.metadata = metadata
    }

    func pulled(_ tag: Tag, in repository: RepositoryName) {
        pending.withLockedValue { pending in
            guard pending.count < Self.capacity, pending.tags[repository, default: []].insert(tag).inserted else { return }
            pending.count += 1
        }
    }

    /// Makes sure the repository's link to `digest` counts as used now, durably, before
    /// returning. False when the link is gone (a collection took it since it was looked up).
    func used(_ digest: Digest, in repository: RepositoryName) async throws -> Bool {
        let use = BlobUse(repository: repository, digest: digest)
        let now = ContinuousClock.now
        let isRecent = written.withLockedValue { written in
            guard let last = written[use] else { return false }
            return now - last < Self.coalescingWindow
        }
        if isRecent { return true }
        // The time is taken before the write: the record is never later than the request.
        guard try await metadata.recordBlobUse(digest, in: repository, at: Date()) else {
            written.withLockedValue { _ = $0.removeValue(forKey: use) }
            return false
        }
        written.withLockedValue { written in
            if written.count >= Self.capacity {
                written = written.filter { now - $0.value < Self.coalescingWindow }
            }
            if written.count < Self.capacity { written[use] = now }
        }
        return true
    }

    /// Writes the tag pulls collected since the last flush.
    public func flush(now: Date = Date()) async throws {
        let batch = pending.withLockedValue { pending in
            defer { pending = Pending() }
            return pending
        }
        guard batch.count > 0 else { return }
        try await metadata.recordUse(tags: batch.tags, blobs: [:], at: now)
    }
}
