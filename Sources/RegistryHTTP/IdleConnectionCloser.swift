import NIOCore

/// Closes a connection when `IdleStateHandler` reports it idle, and after any error the
/// HTTP parser raised (the 400 has been written by `HTTPServerProtocolErrorHandler`; a
/// connection whose framing is lost must not be reused).
final class IdleConnectionCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
        context.fireErrorCaught(error)
    }
}
