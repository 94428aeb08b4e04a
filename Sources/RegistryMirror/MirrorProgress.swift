import Foundation
import NIOConcurrencyHelpers
import RegistryModel

/// What a mirror run tells as it goes.
public protocol MirrorProgress: Sendable {
    func tagStarted(_ tag: String, digest: Digest)
    func tagSkipped(_ tag: String, reason: String)
    func tagFinished(_ tag: String)
    func blobStarted(_ digest: Digest, size: Int64)
    /// `bytes` of the blob transferred so far.
    func blobProgress(_ digest: Digest, bytes: Int64)
    func blobFinished(_ digest: Digest, size: Int64, how: BlobTransfer)
}

public enum BlobTransfer: Sendable {
    case copied, mounted
}

public struct SilentProgress: MirrorProgress {
    public init() {}
    public func tagStarted(_ tag: String, digest: Digest) {}
    public func tagSkipped(_ tag: String, reason: String) {}
    public func tagFinished(_ tag: String) {}
    public func blobStarted(_ digest: Digest, size: Int64) {}
    public func blobProgress(_ digest: Digest, bytes: Int64) {}
    public func blobFinished(_ digest: Digest, size: Int64, how: BlobTransfer) {}
}

/// Progress for people. On a terminal, one status line redrawn at most ten times a second
/// (blobs in flight with their bytes, the total and the rate); otherwise plain lines, one per
/// tag and per blob, for logs.
public final class ConsoleProgress: MirrorProgress {
    private struct State {
        var inFlight: [Digest: (done: Int64, size: Int64)] = [:]
        var bytesDone: Int64 = 0
        var lastDraw = ContinuousClock.now - .seconds(1)
    }

    private let interactive: Bool
    private let started = ContinuousClock.now
    private let state = NIOLockedValueBox(State())
    private let write: @Sendable (String) -> Void

    public init(interactive: Bool = isatty(STDOUT_FILENO) == 1, write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.interactive = interactive
        self.write = write
    }

    public func tagStarted(_ tag: String, digest: Digest) {
        line("tag \(tag) -> \(digest)")
    }

    public func tagSkipped(_ tag: String, reason: String) {
        line("tag \(tag): \(reason)")
    }

    public func tagFinished(_ tag: String) {
        line("tag \(tag): copied")
    }

    public func blobStarted(_ digest: Digest, size: Int64) {
        state.withLockedValue { $0.inFlight[digest] = (0, size) }
        redraw(force: true)
    }

    public func blobProgress(_ digest: Digest, bytes: Int64) {
        state.withLockedValue { state in
            let previous = state.inFlight[digest]?.done ?? 0
            state.inFlight[digest]?.done = bytes
            state.bytesDone += bytes - previous
        }
        redraw(force: false)
    }

    public func blobFinished(_ digest: Digest, size: Int64, how: BlobTransfer) {
        state.withLockedValue { _ = $0.inFlight.removeValue(forKey: digest) }
        switch how {
        case .copied: line("blob \(digest.shortDescription) \(ByteCount.format(size)) copied (\(rate()))")
        case .mounted: line("blob \(digest.shortDescription) \(ByteCount.format(size)) mounted")
        }
    }

    private func rate() -> String {
        let seconds = max((ContinuousClock.now - started).seconds, 0.001)
        let done = state.withLockedValue { $0.bytesDone }
        return "\(ByteCount.format(Int64(Double(done) / seconds)))/s"
    }

    private func line(_ text: String) {
        write(interactive ? "\r\u{1B}[K\(text)\n" : "\(text)\n")
        redraw(force: true)
    }

    private func redraw(force: Bool) {
        guard interactive else { return }
        let status: String? = state.withLockedValue { state in
            let now = ContinuousClock.now
            guard force || now - state.lastDraw >= .milliseconds(100) else { return nil }
            state.lastDraw = now
            let blobs = state.inFlight.sorted { $0.key < $1.key }.map { digest, progress in
                "\(digest.shortDescription) \(ByteCount.format(progress.done))/\(ByteCount.format(progress.size))"
            }
            return blobs.isEmpty ? "" : blobs.joined(separator: "  ") + "  total \(ByteCount.format(state.bytesDone))"
        }
        guard let status else { return }
        write("\r\u{1B}[K\(status)\(status.isEmpty ? "" : " \(rate())")")
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
