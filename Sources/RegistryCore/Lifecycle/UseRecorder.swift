import Foundation
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage

/// Collects which tags are pulled and which blob links are used, for retention rules ("pulled
/// within") and for garbage collection's grace period (a layer a client just saw is about to be
/// referenced), and writes them in one transaction per ``flush()`` instead of one per request.
public final class UseRecorder: Sendable {
    /// Past this many pending entries new ones are dropped until the next flush: the figures
    /// are a best effort, memory is not.
    static let capacity = 100_000

    private struct Pending {
        var tags: [RepositoryName: Set<Tag>] = [:]
        var blobs: [RepositoryName: Set<Digest>] = [:]
        var count = 0
    }

    private let metadata: any MetadataMaintenance
    private let pending = NIOLockedValueBox(Pending())

    public init(metadata: any MetadataMaintenance) {
        self.metadata = metadata
    }

    func pulled(_ tag: Tag, in repository: RepositoryName) {
        pending.withLockedValue { pending in
            guard pending.count < Self.capacity, pending.tags[repository, default: []].insert(tag).inserted else { return }
            pending.count += 1
        }
    }

    func used(_ digest: Digest, in repository: RepositoryName) {
        pending.withLockedValue { pending in
            guard pending.count < Self.capacity, pending.blobs[repository, default: []].insert(digest).inserted else { return }
            pending.count += 1
        }
    }

    /// Writes what was collected since the last flush.
    public func flush(now: Date = Date()) async throws {
        let batch = pending.withLockedValue { pending in
            defer { pending = Pending() }
            return pending
        }
        guard batch.count > 0 else { return }
        try await metadata.recordUse(tags: batch.tags, blobs: batch.blobs, at: now)
    }
}
