import NIOCore

/// Deterministic pseudo-random bytes (xorshift64), produced in chunks as an upload body would
/// be, so that tests stream without holding whole objects. Different seeds give different bytes.
struct ByteChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let count: Int
    let chunkSize: Int
    var seed: UInt64 = 0

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: Int
        let chunkSize: Int
        var state: UInt64

        mutating func next() async -> ByteBuffer? {
            guard remaining > 0 else { return nil }
            let size = Swift.min(chunkSize, remaining)
            remaining -= size
            var buffer = ByteBuffer()
            var state = self.state
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
                var offset = 0
                while offset < size {
                    state ^= state << 13
                    state ^= state >> 7
                    state ^= state << 17
                    withUnsafeBytes(of: state) { word in
                        for index in 0..<Swift.min(8, size - offset) { bytes[offset + index] = word[index] }
                    }
                    offset += 8
                }
                return size
            }
            self.state = state
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(remaining: count, chunkSize: chunkSize, state: 0x9E37_79B9_7F4A_7C15 &+ seed &* 0xBF58_476D_1CE4_E5B9)
    }

    /// All the bytes at once, for comparing.
    func bytes() async -> [UInt8] {
        var all: [UInt8] = []
        all.reserveCapacity(count)
        var iterator = makeAsyncIterator()
        while let chunk = await iterator.next() { all += chunk.readableBytesView }
        return all
    }
}
