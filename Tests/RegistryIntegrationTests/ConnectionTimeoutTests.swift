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
            let start = ContinuousClock.now
            let reply = await connection.receive()
            #expect(reply.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test func stalledRequestBodyIsClosedAfterTheIdleTimeout() async throws {
        try await TestRegistry.with(configure: { $0.idleTimeout = .seconds(1) }) { client in
            let location = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            try connection.send(Array("PATCH \(location) HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".utf8) + [1, 2, 3])
            let start = ContinuousClock.now
            _ = await connection.receive()
            #expect(ContinuousClock.now - start < .seconds(5))
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
