import Foundation
import RegistryTestSupport
import Testing

/// Answers that the request head alone decides are not held back until the body is read.
@Suite("Early answers")
struct EarlyAnswerTests {
    /// A client that waits for the answer before sending a body the server would only read
    /// to throw away used to hang until the idle timeout (60 s).
    @Test func anOversizedManifestIsRefusedBeforeItsBodyIsSent() async throws {
        try await TestRegistry.with { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            let start = ContinuousClock.now
            try connection.send(Array("""
                PUT /v2/app/manifests/v1 HTTP/1.1\r
                Host: x\r
                Content-Type: application/vnd.oci.image.manifest.v1+json\r
                Content-Length: 104857600\r
                \r

                """.utf8))
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            // Far below the 60 s idle timeout the client used to wait for, and below the socket's
            // 10 s receive timeout; not tighter, as a loaded machine (the whole suite runs in
            // parallel) took 3.2 s once.
            #expect(ContinuousClock.now - start < .seconds(8))
            #expect(reply.hasPrefix("HTTP/1.1 413"))
            #expect(reply.contains("SIZE_TOO_LARGE"))
            #expect(reply.lowercased().contains("connection: close"))
        }
    }

    /// The lingering close reads what the client sends after the answer, so a client that
    /// writes its whole (refused) body before reading still gets the answer, not a reset.
    @Test func aClientWritingTheRefusedBodyAnywayStillReadsTheAnswer() async throws {
        try await TestRegistry.with { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            try connection.send(Array(
                "PUT /v2/app/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\n\r\n".utf8))
            try connection.send([UInt8](repeating: 0x20, count: 1 << 20))
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.1 413"))
        }
    }

    /// Unread bodies within the discard limit are still read (here: refused for its name before
    /// its body), and the connection reused.
    @Test func aSmallUnreadBodyKeepsTheConnection() async throws {
        try await TestRegistry.with { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            let body = String(repeating: "x", count: 1000)
            try connection.send(Array(
                "PUT /v2/BAD/manifests/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n\(body)GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            #expect(reply.contains("HTTP/1.1 200 OK"))
        }
    }
}
