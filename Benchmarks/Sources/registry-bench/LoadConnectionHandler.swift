import NIOCore
import NIOHTTP1

/// What every request of a load run is, and when the run ends.
struct LoadPlan: Sendable {
    var head: HTTPRequestHead
    var expectedStatus: HTTPResponseStatus
    var deadline: NIODeadline
    /// One request per connection (`Connection: close`), as docker and skopeo often do.
    var oneRequestPerConnection: Bool
}

/// A closed-loop client on one connection: sends the plan's request, waits for the whole
/// response, checks its status, records the latency and sends the next one, until the deadline.
final class LoadConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let plan: LoadPlan
    private let recorder: LatencyRecorder
    private var sentAt = NIODeadline.now()
    private var status: HTTPResponseStatus?
    private var closing = false

    init(plan: LoadPlan, recorder: LatencyRecorder) {
        self.plan = plan
        self.recorder = recorder
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body:
            break
        case .end:
            let now = NIODeadline.now()
            guard status == plan.expectedStatus else {
                fail(context: context, "\(plan.head.method) \(plan.head.uri): status \(status.map { "\($0.code)" } ?? "none")")
                return
            }
            recorder.record(now - sentAt)
            status = nil
            if plan.oneRequestPerConnection || now >= plan.deadline {
                closing = true
                context.close(promise: nil)
            } else {
                send(context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !closing { recorder.fail("\(plan.head.method) \(plan.head.uri): the server closed the connection") }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, "\(plan.head.method) \(plan.head.uri): \(error)")
    }

    private func send(context: ChannelHandlerContext) {
        sentAt = .now()
        context.write(wrapOutboundOut(.head(plan.head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func fail(context: ChannelHandlerContext, _ reason: String) {
        recorder.fail(reason)
        closing = true
        context.close(promise: nil)
    }
}
