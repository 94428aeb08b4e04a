import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryStorage

/// What a handler answers.
public struct Response {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public enum Body {
        case empty
        case buffer(ByteBuffer)
        /// `range` of an open blob; the writer closes the reader.
        case blob(any BlobReader, range: Range<Int64>)
        /// A blob arriving from an upstream, sent as it lands; the writer closes the stream.
        case arriving(BlobFetchStream)
    }

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Bytes the body will carry.
    var bodyLength: Int64 {
        switch body {
        case .empty: 0
        case .buffer(let buffer): Int64(buffer.readableBytes)
        case .blob(_, let range): Int64(range.count)
        case .arriving(let stream): Int64(stream.range.count)
        }
    }
}
