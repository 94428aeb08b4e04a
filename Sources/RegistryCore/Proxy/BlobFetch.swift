import NIOConcurrencyHelpers
import NIOCore
import RegistryModel
import RegistryStorage

/// A blob on its way from an upstream into storage. One task writes it (``advance(to:)``,
/// ``finish(_:)``); any number of clients read it meanwhile from the same file, each at its own
/// pace, through ``stream(range:)``: one upstream transfer however many clients wait, and no
/// client waits for the whole blob before its first byte.
public final class BlobFetch: Sendable {
    public let digest: Digest
    public let size: Int64
    /// The session file the fetch writes, opened before its first byte: it stays readable
    /// through this handle after it is renamed into place (or removed, on a mismatch).
    private let reader: any BlobReader
    private let state = NIOLockedValueBox(State())

    private struct State {
        var written: Int64 = 0
        /// Set once: success means verified against the digest and committed.
        var outcome: Result<Void, any Error>?
        var waiters: [CheckedContinuation<Void, Never>] = []
        var openStreams = 0
        var readerClosed = false
    }

    init(digest: Digest, size: Int64, reader: any BlobReader) {
        self.digest = digest
        self.size = size
        self.reader = reader
    }

    /// How the fetch ended, or nil while it runs.
    var outcome: Result<Void, any Error>? {
        state.withLockedValue { $0.outcome }
    }

    // MARK: Writer side

    func advance(to written: Int64) {
        let waiters = state.withLockedValue { state in
            state.written = written
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func finish(_ outcome: Result<Void, any Error>) {
        let (waiters, closeReader) = state.withLockedValue { state in
            state.outcome = outcome
            defer { state.waiters = [] }
            return (state.waiters, Self.takeReaderIfUnused(&state))
        }
        for waiter in waiters { waiter.resume() }
        if closeReader { closeReaderLater() }
    }

    // MARK: Reader side

    /// `range` of the blob as it arrives. The bytes that complete the range are handed out only
    /// once the whole blob matched its digest, so a corrupt upstream never completes a response.
    /// Nil once the fetch is over (the stored blob, if any, is then read as usual). The holder
    /// must call ``BlobFetchStream/close()``.
    public func stream(range: Range<Int64>) -> BlobFetchStream? {
        let open = state.withLockedValue { state in
            guard state.outcome == nil else { return false }
            state.openStreams += 1
            return true
        }
        return open ? BlobFetchStream(fetch: self, range: range) : nil
    }

    /// Waits until the fetch ends; throws its error if it failed.
    public func completion() async throws {
        _ = try await written(beyond: 0, requireVerified: true)
    }

    /// Waits until more than `offset` bytes are written, or the blob is complete and verified;
    /// returns the bytes written. Throws the fetch's error if it failed.
    func written(beyond offset: Int64, requireVerified: Bool) async throws -> Int64 {
        while true {
            let ready: Result<Int64, any Error>? = state.withLockedValue { state in
                if case .failure(let error) = state.outcome { return .failure(error) }
                if requireVerified { return state.outcome == nil ? nil : .success(state.written) }
                return state.written > offset || state.outcome != nil ? .success(state.written) : nil
            }
            if let ready { return try ready.get() }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state in
                    let satisfied = state.outcome != nil || (!requireVerified && state.written > offset)
                    if !satisfied { state.waiters.append(continuation) }
                    return satisfied
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    func read(_ range: Range<Int64>) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await chunk in reader.chunks(in: range, chunkSize: range.count) {
            result.writeImmutableBuffer(chunk)
        }
        guard result.readableBytes == range.count else {
            throw StorageError.truncatedFile(expected: Int64(range.count), found: Int64(result.readableBytes))
        }
        return result
    }

    func streamClosed() {
        let closeReader = state.withLockedValue { state in
            state.openStreams -= 1
            return Self.takeReaderIfUnused(&state)
        }
        if closeReader { closeReaderLater() }
    }

    private static func takeReaderIfUnused(_ state: inout State) -> Bool {
        guard state.outcome != nil, state.openStreams == 0, !state.readerClosed else { return false }
        state.readerClosed = true
        return true
    }

    private func closeReaderLater() {
        let reader = self.reader
        Task { try? await reader.close() }
    }
}

/// A client's view of a ``BlobFetch``: the bytes of its range, read from the file as they land.
public struct BlobFetchStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    static let chunkBytes: Int64 = 1 << 20

    let fetch: BlobFetch
    public let range: Range<Int64>

    public var size: Int64 { fetch.size }

    public func makeAsyncIterator() -> Iterator {
        Iterator(fetch: fetch, offset: range.lowerBound, end: range.upperBound)
    }

    /// Ends this client's use of the fetch; call it once, whether the stream was read or not.
    public func close() {
        fetch.streamClosed()
    }

    public struct Iterator: AsyncIteratorProtocol {
        let fetch: BlobFetch
        var offset: Int64
        let end: Int64

        public mutating func next() async throws -> ByteBuffer? {
            guard offset < end else { return nil }
            var written = try await fetch.written(beyond: offset, requireVerified: false)
            var upTo = Swift.min(written, end, offset + BlobFetchStream.chunkBytes)
            if upTo == end {
                // The last bytes wait for the verdict on the whole blob.
                written = try await fetch.written(beyond: offset, requireVerified: true)
                upTo = Swift.min(written, end, offset + BlobFetchStream.chunkBytes)
            }
            guard upTo > offset else {
                throw StorageError.truncatedFile(expected: end, found: written)
            }
            let chunk = try await fetch.read(offset..<upTo)
            offset = upTo
            return chunk
        }
    }
}
