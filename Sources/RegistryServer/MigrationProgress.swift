import Foundation
import NIOConcurrencyHelpers
import RegistryModel

/// How far a migration is, as one line: `blobs 120/300 1.2 GiB/3.0 GiB  manifests 40/90  tags 30/30`.
/// Blobs count once per digest, whichever repositories link them; bytes include those of blobs
/// being copied. Safe to update from concurrent copies.
public final class MigrationProgress: Sendable {
    struct Figures: Sendable, Equatable {
        var blobs = 0
        var bytes: Int64 = 0
        var manifests = 0
        var tags = 0
    }

    private struct State {
        /// Nil while the source is being read.
        var total: Figures?
        var done = Figures()
        var inFlight: [Digest: Int64] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    func start(total: Figures) {
        state.withLockedValue { $0.total = total }
    }

    /// `bytes` of a blob being copied have gone through so far.
    func moving(_ digest: Digest, bytes: Int64) {
        state.withLockedValue { $0.inFlight[digest] = bytes }
    }

    /// A blob is dealt with (copied, found, or failed); `counts` is false when the digest was
    /// counted already in another repository.
    func blobDone(_ digest: Digest, size: Int64, counts: Bool) {
        state.withLockedValue { state in
            state.inFlight[digest] = nil
            guard counts else { return }
            state.done.blobs += 1
            state.done.bytes += size
        }
    }

    /// A manifest is dealt with, with `tags` of its tags.
    func manifestDone(tags: Int) {
        state.withLockedValue { state in
            state.done.manifests += 1
            state.done.tags += tags
        }
    }

    /// Nil until the source has been read and the totals are known.
    public var line: String? {
        state.withLockedValue { state in
            guard let total = state.total else { return nil }
            let done = state.done
            let bytes = done.bytes + state.inFlight.values.reduce(0, +)
            return "blobs \(done.blobs)/\(total.blobs) \(ByteCount.format(bytes))/\(ByteCount.format(total.bytes))"
                + "  manifests \(done.manifests)/\(total.manifests)  tags \(done.tags)/\(total.tags)"
        }
    }

    /// Writes ``line`` until the task is cancelled: on a terminal redrawn in place five times a
    /// second, otherwise a new line every `interval` (logs get a few lines, not thousands).
    /// The last state is written once more at the end (with a newline on a terminal). Nothing
    /// is written before the totals are known (a refused run writes nothing).
    public func display(interactive: Bool, interval: Duration = .seconds(5), write: @Sendable (String) -> Void) async {
        let pause = interactive ? Duration.milliseconds(200) : interval
        while !Task.isCancelled {
            if let line { write(interactive ? "\r\u{1B}[K\(line)" : "\(line)\n") }
            try? await Task.sleep(for: line == nil ? .milliseconds(200) : pause)
        }
        if let line { write(interactive ? "\r\u{1B}[K\(line)\n" : "\(line)\n") }
    }
}
