import RegistryTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite("Connection timeouts")
struct ConnectionTimeoutTests {
    @Test func silentConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await TestRegistry.with(configure: { $0.idleTimeout = .seconds(1) }) { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            // The server closes it; the socket's own 10 s receive timeout would report otherwise.
            let reply = await connection.receiveUntilClosed()
            #expect(reply.bytes.isEmpty)
            #expect(reply.closedByPeer)
        }
    }

    @Test func stalledRequestBodyIsClosedAfterTheIdleTimeout() async throws {
        try await TestRegistry.with(configure: { $0.idleTimeout = .seconds(1) }) { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            try connection.send(Array("PATCH \(location) HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".utf8) + [1, 2, 3])
            #expect(await connection.receiveUntilClosed().closedByPeer)
            let status = try await client.requestRetryingOnce(.GET, location)
            #expect(status.header("Range") == "0-0")
        }
    }

    @Test func slowReaderStillGetsTheWholeBlob() async throws {
        try await TestRegistry.with(configure: { $0.idleTimeout = .seconds(1) }) { client in
            let bytes = RegistryClient.randomBytes(8 * 1024 * 1024)
            let digest = try await client.pushBlob(bytes, to: "app")
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            try connection.send(Array("GET /v2/app/blobs/\(digest) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            // Read nothing for longer than the idle timeout: socket buffers fill and the server waits.
            try await Task.sleep(for: .milliseconds(2500))
            let reply = await connection.receive(limit: 16 * 1024 * 1024)
            let separator = Array("\r\n\r\n".utf8)
            let headerEnd = try #require((0..<reply.count).first { Array(reply[$0..<min($0 + 4, reply.count)]) == separator })
            #expect(reply.count - headerEnd - 4 == bytes.count)
        }
    }
}
