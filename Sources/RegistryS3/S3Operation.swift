import NIOHTTP1

/// One S3 request before it is signed: which API call, which key, the query and headers that
/// make it that call, and the body. Response handling stays with the client.
struct S3Operation: Sendable {
    /// S3's name for the call, for errors.
    let name: String
    let method: HTTPMethod
    /// The caller's key (without the configured prefix), or nil for a request on the bucket.
    let key: String?
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var body: S3Body = .empty
}
