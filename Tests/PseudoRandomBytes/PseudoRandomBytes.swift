import NIOCore

/// Deterministic pseudo-random bytes (xorshift64), made a buffer at a time so that tests of
/// large objects never hold them whole: the same seed gives the same bytes, different seeds
/// different ones. Shared by the test targets that stream bodies.
public struct PseudoRandomBytes: Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = 0x9E37_79B9_7F4A_7C15 &+ seed &* 0xBF58_476D_1CE4_E5B9
    }

    /// The next `count` bytes.
    public mutating func buffer(_ count: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        var state = self.state
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes in
            var offset = 0
            while offset < count {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                withUnsafeBytes(of: state) { word in
                    for index in 0..<Swift.min(8, count - offset) { bytes[offset + index] = word[index] }
                }
                offset += 8
            }
            return count
        }
        self.state = state
        return buffer
    }
}

/// `count` pseudo-random bytes as an upload body would come: in buffers of `chunkSize`.
public struct ByteChunks: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public let count: Int
    public let chunkSize: Int
    public var seed: UInt64

    public init(count: Int, chunkSize: Int, seed: UInt64 = 0) {
        self.count = count
        self.chunkSize = chunkSize
        self.seed = seed
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int
        let chunkSize: Int
        var bytes: PseudoRandomBytes

        public mutating func next() async -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            let size = Swift.min(chunkSize, remaining)
            remaining -= size
            return bytes.buffer(size)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(remaining: count, chunkSize: chunkSize, bytes: PseudoRandomBytes(seed: seed))
    }

    /// All the bytes at once, for comparing.
    public func bytes() async -> [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(count)
        var iterator = makeAsyncIterator()
        while let chunk = await iterator.next() { all += chunk.readableBytesView }
        return all
    }
}
