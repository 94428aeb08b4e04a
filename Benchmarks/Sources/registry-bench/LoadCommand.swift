import ArgumentParser
import NIOCore
import NIOHTTP1
import NIOPosix

/// Closed-loop HTTP load: N connections each send one request after another for a duration.
/// Unlike Debian's wrk 4.1.0 it handles `HEAD` responses that carry `Content-Length`. Given
/// several URLs (the replicas of a cluster), connection i sends to the i-th, round robin.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Send one request over and over on N connections; print requests/s and latencies."
    )

    @Argument(help: "http://HOST:PORT/PATH (several: the connections take them in turn)")
    var urls: [String]

    @Option(help: "Request method.")
    var method: String = "GET"

    @Option(name: .customLong("header"), help: "A request header, `Name: value` (repeatable).")
    var headers: [String] = []

    @Option(help: "Concurrent connections (clients).")
    var connections: Int = 64

    @Option(help: "Seconds to run.")
    var seconds: Double = 8

    @Option(help: "Event-loop threads of the load generator.")
    var threads: Int = 1

    @Option(help: "The status every response must have.")
    var expect: Int = 200

    @Flag(help: "One request per connection, with `Connection: close`.")
    var close = false

    func run() async throws {
        let targets = try urls.map(Target.init)
        guard !targets.isEmpty else { throw ValidationError("give at least one URL") }
        let started = NIODeadline.now()
        let plans = try targets.map { target in
            var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target.path)
            head.headers.add(name: "Host", value: target.hostHeader)
            for header in headers {
                guard let colon = header.firstIndex(of: ":") else { throw ValidationError("header without a colon: \(header)") }
                head.headers.add(name: String(header[..<colon]), value: header[header.index(after: colon)...].trimmingSpaces)
            }
            if close { head.headers.replaceOrAdd(name: "Connection", value: "close") }
            return LoadPlan(
                head: head, expectedStatus: HTTPResponseStatus(statusCode: expect),
                deadline: started + .nanoseconds(Int64(seconds * 1e9)), oneRequestPerConnection: close
            )
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let recorders = (0..<connections).map { _ in LatencyRecorder() }
        await withTaskGroup(of: Void.self) { tasks in
            for (index, recorder) in recorders.enumerated() {
                let loop = group.next()
                let (target, plan) = (targets[index % targets.count], plans[index % targets.count])
                tasks.addTask { await Self.runClient(on: loop, target: target, plan: plan, recorder: recorder) }
            }
        }
        let elapsed = (NIODeadline.now() - started).nanoseconds
        try await group.shutdownGracefully()

        if let failure = recorders.lazy.compactMap(\.firstFailure).first {
            let failures = recorders.reduce(0) { $0 + $1.failures }
            throw BenchFailure("\(failures) failed requests; first: \(failure)")
        }
        let summary = LatencySummary(recorders)
        let wall = Double(elapsed) / 1e9
        var result = [
            "requests": Double(summary.count),
            "seconds": wall,
            "requests_per_s": Double(summary.count) / wall,
            "p50_ms": summary.percentile(0.50),
            "p99_ms": summary.percentile(0.99),
        ]
        if targets.count > 1 {
            // Requests each URL answered: a cluster's replicas should share the load.
            for index in targets.indices {
                result["requests_\(index)"] = Double(recorders.indices.filter { $0 % targets.count == index }
                    .reduce(0) { $0 + recorders[$1].microseconds.count })
            }
        }
        try printJSON(result)
    }

    /// One client: a single keep-alive connection, or in `--close` mode a new connection per
    /// request until the deadline.
    private static func runClient(on loop: any EventLoop, target: Target, plan: LoadPlan, recorder: LatencyRecorder) async {
        repeat {
            do {
                let channel = try await ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(plan: plan, recorder: recorder))
                        }
                    }
                    .connect(host: target.host, port: target.port).get()
                try await channel.closeFuture.get()
            } catch {
                loop.execute { recorder.fail("connect: \(error)") }
                return
            }
            let failed = try? await loop.submit { recorder.failures > 0 }.get()
            if failed != false { return }
        } while plan.oneRequestPerConnection && NIODeadline.now() < plan.deadline
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
