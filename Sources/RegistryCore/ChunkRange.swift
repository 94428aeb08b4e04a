/// A chunk's declared place in the upload (`Content-Range: start-end`, inclusive).
public struct ChunkRange: Sendable, Equatable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public var length: Int64 { end - start + 1 }
}
