import NIOCore

/// Where a blob's bytes can be handed over as they arrive: the registry's connection to the
/// client that pulls them. A store whose bytes come from the network (object storage) delivers
/// them to it from the event loop they arrive on, with no task in between
/// (``BlobReader/deliver(_:to:)``); a file is read in chunks or sent with `sendfile` instead.
public protocol BlobSink: Sendable {
    /// The sink's own event loop, where ``write(_:)`` is cheapest to call.
    var eventLoop: any EventLoop { get }
    /// Takes `buffer`, on any event loop. The future succeeds when the sink wants more and
    /// fails when it can take nothing any more (the client went away).
    func write(_ buffer: ByteBuffer) -> EventLoopFuture<Void>
}

/// The event loop of the connection a request came on, set by the HTTP server around each
/// request. An object store opens its GETs there, so that a pulled blob goes from the store's
/// socket to the client's on one thread.
public enum BlobDelivery {
    @TaskLocal public static var eventLoop: (any EventLoop)?
}

extension BlobReader {
    /// Not offered: read ``chunks(in:chunkSize:)``.
    public func deliver(_ range: Range<Int64>, to sink: any BlobSink) async throws -> Int64? { nil }
}
