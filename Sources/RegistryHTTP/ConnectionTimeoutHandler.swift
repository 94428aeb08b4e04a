import NIOCore
import NIOHTTP1

/// Closes connections that stall while the client is expected to send: between requests (idle
/// keep-alive, slow-loris heads) and in the middle of a request body (stalled uploads).
///
/// Only time spent waiting on the client counts: the clock runs while a read is outstanding,
/// not while backpressure has stopped reading because the server is busy with the data.
///
/// Unlike `IdleStateHandler`'s read timeout it never fires while the server is answering, so a
/// slow client may take as long as it needs to download a large blob. It also closes the
/// connection after any error the HTTP parser raised: `HTTPServerProtocolErrorHandler` has
/// written the 400, and a connection whose framing is lost must not be reused.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// Waiting for a request head (or between requests).
        case waitingForRequest
        /// A head arrived; its body is still coming.
        case receivingBody
        /// The request is complete; the server is working on or writing its response.
        case responding
    }

    private let timeout: TimeAmount
    private var phase = Phase.waitingForRequest
    /// Whether a read was requested and no data has arrived since, and since when.
    private var waitingForData = false
    private var waitingSince = NIODeadline.now()
    private var check: RepeatedTask?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let interval = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, TimeAmount.milliseconds(100).nanoseconds))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            handler.closeIfStalled(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if !waitingForData {
            waitingForData = true
            waitingSince = .now()
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        waitingForData = false
        switch unwrapInboundIn(data) {
        case .head: phase = .receivingBody
        case .body: break
        case .end: phase = .responding
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // The response is over when its last part has reached the socket, not when it was queued
        // behind a large body.
        let written = promise ?? context.eventLoop.makePromise()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            handler.value.responseFinished()
        }
        context.write(data, promise: written)
    }

    private func responseFinished() {
        guard phase == .responding else { return }
        phase = .waitingForRequest
        waitingSince = .now()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
        context.fireErrorCaught(error)
    }

    private func closeIfStalled(context: ChannelHandlerContext) {
        guard phase != .responding, waitingForData, NIODeadline.now() - waitingSince > timeout else { return }
        context.close(promise: nil)
    }
}
