import NIOCore

/// Gathers the writes between two flushes into one buffer, for an HTTP/2 connection over TLS.
///
/// `NIOHTTP2Handler` writes every frame as a 9-byte header and, for DATA, its payload as a second
/// buffer; `NIOSSLHandler` seals each write on its own, so a blob went out as one 9-byte TLS record
/// per 16 KiB record, which the client has to read and decrypt on its own too. Copied into one
/// buffer, the frames fill whole records. The buffer is reused: TLS encrypts it during the flush
/// and lets go of it, so the copy costs no allocation.
final class WriteCoalescingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Gathered bytes are passed on without waiting for the flush once they reach this size.
    static let maximumGathered = 2 << 20

    private var gathered: ByteBuffer
    private var promises: [EventLoopPromise<Void>] = []

    init(allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        gathered = allocator.buffer(capacity: 0)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(var buffer):
            if gathered.readableBytes == 0 && promises.isEmpty {
                // Reuses the storage when the last gathered buffer is no longer referenced.
                gathered.clear()
            }
            gathered.writeBuffer(&buffer)
            if let promise { promises.append(promise) }
            if gathered.readableBytes >= Self.maximumGathered { passOn(context: context) }
        case .fileRegion:
            passOn(context: context)
            context.write(data, promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        passOn(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Whatever was written before a close goes out before it.
        passOn(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        let pending = promises
        promises = []
        for promise in pending { promise.fail(ChannelError.ioOnClosedChannel) }
    }

    private func passOn(context: ChannelHandlerContext) {
        guard gathered.readableBytes > 0 || !promises.isEmpty else { return }
        let buffer = gathered
        gathered.moveReaderIndex(to: gathered.writerIndex)
        let pending = promises
        promises = []
        switch pending.count {
        case 0:
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: nil)
        case 1:
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: pending[0])
        default:
            let done = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: done)
            done.futureResult.whenComplete { result in
                for promise in pending { promise.completeWith(result) }
            }
        }
    }
}
