import RegistryTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to 127.0.0.1, for sending bytes no HTTP client would send.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw TestFailure("connect() failed")
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw TestFailure("send() failed") }
            offset += sent
        }
    }

    /// What ``receiveUntilClosed(limit:)`` read, and whether the peer closed the connection
    /// (rather than the socket's 10 s receive timeout running out or the limit being reached).
    struct Received {
        var bytes: [UInt8]
        var closedByPeer: Bool
    }

    /// Reads until the peer closes or `limit` bytes arrived, on a dispatch thread: blocking a
    /// thread of Swift's small cooperative pool could starve the in-process server under test.
    func receive(limit: Int = 1 << 20) async -> [UInt8] {
        await receiveUntilClosed(limit: limit).bytes
    }

    /// Like ``receive(limit:)``, telling also how the reading ended. Tests of the server closing
    /// a connection check `closedByPeer` instead of a wall-clock bound: on a machine busy with
    /// the whole suite, the thread that reads may start seconds late, and a close that happened
    /// on time then looks late.
    func receiveUntilClosed(limit: Int = 1 << 20) async -> Received {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: self.receiveBlocking(limit: limit))
            }
        }
    }

    private func receiveBlocking(limit: Int) -> Received {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            // 0: an orderly close; -1 with EAGAIN: the receive timeout; ECONNRESET: a reset,
            // which is the peer closing too.
            if count == 0 { return Received(bytes: result, closedByPeer: true) }
            if count < 0 { return Received(bytes: result, closedByPeer: errno == ECONNRESET) }
            result += buffer[0..<count]
        }
        return Received(bytes: result, closedByPeer: false)
    }

    func close() {
        Glibc.close(descriptor)
    }
}
