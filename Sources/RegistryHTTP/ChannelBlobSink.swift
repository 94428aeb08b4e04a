import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import RegistryStorage

/// A response's connection as the sink of a blob an object store delivers (``BlobSink``): each
/// buffer is written and flushed as it comes, and more are wanted while the writes not yet
/// done stay within `bytesInFlight`, so the store's socket is read on while the client's is
/// written, in bounded memory.
final class ChannelBlobSink: BlobSink {
    private struct State {
        var bytesInFlight = 0
        var waiting: EventLoopPromise<Void>?
        var failure: (any Error)?
    }
    private let channel: any Channel
    private let limit: Int
    /// Touched on the channel's event loop only; boxed to be `Sendable`.
    private let state = NIOLockedValueBox(State())

    init(channel: any Channel, bytesInFlight: Int) {
        self.channel = channel
        self.limit = bytesInFlight
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    func write(_ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        guard channel.eventLoop.inEventLoop else {
            return channel.eventLoop.flatSubmit { self.write(buffer) }
        }
        let count = buffer.readableBytes
        let ready: EventLoopFuture<Void> = state.withLockedValue { state in
            if let failure = state.failure { return channel.eventLoop.makeFailedFuture(failure) }
            state.bytesInFlight += count
            guard state.bytesInFlight > limit else { return channel.eventLoop.makeSucceededVoidFuture() }
            let promise = channel.eventLoop.makePromise(of: Void.self)
            state.waiting = promise
            return promise.futureResult
        }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).whenComplete { result in
            let waiting = self.state.withLockedValue { state -> EventLoopPromise<Void>? in
                state.bytesInFlight -= count
                if case .failure(let error) = result { state.failure = state.failure ?? error }
                guard state.failure != nil || state.bytesInFlight <= self.limit / 2, let waiting = state.waiting else { return nil }
                state.waiting = nil
                return waiting
            }
            if let waiting {
                if let failure = self.state.withLockedValue({ $0.failure }) { waiting.fail(failure) } else { waiting.succeed() }
            }
        }
        return ready
    }
}
