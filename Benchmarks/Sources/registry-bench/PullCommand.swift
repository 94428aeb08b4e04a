import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `registry-bench pull URL... --size N [--parallel P] [--follow-redirects]`: GETs a blob on P
/// connections at once (connection i asks the i-th URL, round robin: the replicas of a cluster),
/// reading each body into a 4 MiB buffer and discarding it, and prints the aggregate MiB/s.
///
/// Blocking sockets on plain threads, so that the client costs one kernel copy per byte and
/// little else: on a 2-core machine a client that costs more (Python's http.client, or an event
/// loop that hands buffers to tasks) takes the CPU the server needs, and both registries then
/// measure the client.
///
/// With `--follow-redirects`, a `307` (or 301, 302, 303, 308) is followed to its `Location`,
/// which may be another host and port (a presigned URL of the bucket behind the registry), on a
/// new connection; the time counted is the whole download, redirect included. Without it, a
/// redirect is a failure. The output says how many downloads were redirected, so that the caller
/// can check it measured the mode it meant to.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pull", abstract: "Blob download throughput.")

    @Argument(help: "http://HOST:PORT/v2/NAME/blobs/DIGEST (several: the connections take them in turn)")
    var urls: [String]

    @Option(help: "The blob's size: every response must carry exactly this many bytes.")
    var size: Int

    @Option(help: "Connections pulling the blob at once.")
    var parallel: Int = 1

    @Flag(help: "Follow redirects (to any host) instead of failing on them.")
    var followRedirects = false

    func run() throws {
        let targets = try urls.map(Target.init)
        guard !targets.isEmpty else { throw ValidationError("give at least one URL") }
        let failure = Mutex<(any Error)?>(nil)
        let redirected = Atomic<Int>(0)
        let firstBytes = Mutex<[Double]>([])
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: parallel) { index in
            do {
                let outcome = try Self.pull(targets[index % targets.count], size: size, followRedirects: followRedirects)
                if outcome.redirects > 0 { redirected.add(1, ordering: .relaxed) }
                firstBytes.withLock { $0.append((outcome.firstByte - started).seconds) }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        let elapsed = ContinuousClock.now - started
        if let error = failure.withLock({ $0 }) { throw error }
        let firstByte = firstBytes.withLock { $0.max() ?? 0 }
        try printJSON([
            "mib_per_s": Double(size * parallel) / 1_048_576 / elapsed.seconds, "seconds": elapsed.seconds,
            "redirected": Double(redirected.load(ordering: .relaxed)), "first_byte_s": firstByte,
        ])
    }

    /// One download: how many redirects it followed, and when its first body byte arrived
    /// (the head, really: the body's first bytes come with it or right after).
    private static func pull(
        _ start: Target, size: Int, followRedirects: Bool
    ) throws -> (redirects: Int, firstByte: ContinuousClock.Instant) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var target = start
        var redirects = 0
        while true {
            let socket = try BlockingSocket(connectingTo: target)
            defer { socket.close() }
            try socket.send("GET \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nConnection: close\r\n\r\n")
            // The head, and whatever part of the body came with it.
            var head: [UInt8] = []
            var bodyStart: Int?
            while bodyStart == nil {
                let count = try socket.receive(into: buffer)
                guard count > 0 else { throw BenchFailure("GET \(target.path): closed before the response head") }
                head += buffer[0..<count]
                bodyStart = head.indices.dropLast(3).first { head[$0] == 13 && head[$0 + 1] == 10 && head[$0 + 2] == 13 && head[$0 + 3] == 10 }
            }
            let firstByte = ContinuousClock.now
            let headText = String(decoding: head[..<bodyStart!], as: UTF8.self)
            let lines = headText.split(separator: "\r\n")
            func header(_ name: String) -> String? {
                lines.first { $0.lowercased().hasPrefix(name + ":") }
                    .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
            }
            let statusLine = lines.first.map(String.init) ?? ""
            if ["301", "302", "303", "307", "308"].contains(where: { statusLine.hasPrefix("HTTP/1.1 \($0)") }) {
                guard followRedirects else { throw BenchFailure("GET \(target.path): \(statusLine) (give --follow-redirects)") }
                guard redirects < 5, let location = header("location") else {
                    throw BenchFailure("GET \(target.path): \(statusLine) without a Location, or too many redirects")
                }
                redirects += 1
                target = location.hasPrefix("/") ? Target(host: target.host, port: target.port, path: location) : try Target(location)
                continue
            }
            guard statusLine.hasPrefix("HTTP/1.1 200") else {
                let body = String(decoding: head[(bodyStart! + 4)...].prefix(300), as: UTF8.self)
                throw BenchFailure("GET \(target.path): \(statusLine) \(body)")
            }
            guard let length = header("content-length").flatMap({ Int($0) }), length == size
            else { throw BenchFailure("GET \(target.path): Content-Length is not \(size)") }
            var received = head.count - (bodyStart! + 4)
            while received < size {
                // Woken once a megabyte has arrived rather than for every segment: on a virtual
                // machine each wake-up of the reader is an inter-processor interrupt that the
                // sending side (the server being measured) pays for.
                socket.wakeAfter(min(size - received, 1 << 20))
                let count = try socket.receive(into: buffer)
                guard count > 0 else { throw BenchFailure("GET \(target.path): \(received) of \(size) bytes, then closed") }
                received += count
            }
            guard received == size else { throw BenchFailure("GET \(target.path): \(received) bytes, expected \(size)") }
            return (redirects, firstByte)
        }
    }
}

/// A connected TCP socket with blocking calls.
private struct BlockingSocket {
    let descriptor: Int32

    init(connectingTo target: Target) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(target.port).bigEndian)
        guard inet_pton(AF_INET, target.host, &address.sin_addr) == 1 else {
            Glibc.close(descriptor)
            throw BenchFailure("\(target.host): not an IPv4 address")
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw BenchFailure("connect \(target.hostHeader): \(String(cString: strerror(errno)))")
        }
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw BenchFailure("send: \(String(cString: strerror(errno)))") }
            bytes = bytes.dropFirst(sent)
        }
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            if errno != EINTR { throw BenchFailure("recv: \(String(cString: strerror(errno)))") }
        }
    }

    /// `SO_RCVLOWAT`: `recv` returns once this many bytes are there (or the peer closed).
    func wakeAfter(_ bytes: Int) {
        var value = Int32(bytes)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVLOWAT, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    func close() {
        Glibc.close(descriptor)
    }
}
