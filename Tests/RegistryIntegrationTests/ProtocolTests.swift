import RegistryTestSupport
import Foundation
import NIOHTTP1
import RegistryModel
import Testing

@Suite("HTTP protocol and routing")
struct ProtocolTests {
    @Test func baseEndpointAnswers200WithTheAPIVersion() async throws {
        try await TestRegistry.with { client in
            let reply = try await client.request(.GET, "/v2/")
            #expect(reply.status == .ok)
            #expect(reply.header("Docker-Distribution-API-Version") == "registry/2.0")
            #expect(try await client.request(.GET, "/v2").status == .ok)
            #expect(try await client.request(.GET, "/healthz").status == .ok)
            #expect(try await client.request(.GET, "/readyz").status == .ok)
        }
    }

    @Test func unknownPathsAndMethodsGetOCIErrors() async throws {
        try await TestRegistry.with { client in
            let unknown = try await client.request(.GET, "/v3/whatever")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "NOT_FOUND")
            #expect(unknown.header("Docker-Distribution-API-Version") == "registry/2.0")
            let method = try await client.request(.PATCH, "/v2/app/manifests/latest")
            #expect(method.status == .methodNotAllowed)
            #expect(method.errorCode == "UNSUPPORTED")
        }
    }

    @Test func namesWithManySegmentsAndReservedWordsRoute() async throws {
        try await TestRegistry.with { client in
            let name = "org/blobs/manifests/tags/uploads/referrers/deep/deeper"
            let (manifest, digest) = try await client.pushImage(to: name, tag: "v1")
            #expect(try await client.request(.GET, "/v2/\(name)/manifests/v1").bytes == manifest)
            #expect(try await client.request(.GET, "/v2/\(name)/manifests/\(digest)").status == .ok)
            #expect(try await client.request(.GET, "/v2/\(name)/tags/list").status == .ok)
            let location = try #require(try await client.request(.POST, "/v2/\(name)/blobs/uploads").header("Location"))
            #expect(location.hasPrefix("/v2/\(name)/blobs/uploads/"))
        }
    }

    @Test func invalidNamesAndTagsAreRefusedAndCannotEscapeTheRoot() async throws {
        try await TestRegistry.with { client in
            for name in ["UPPER", "a/../b", "..", "a//b", "-lead", "a/%2e%2e/b", String(repeating: "a", count: 256)] {
                let reply = try await client.request(.GET, "/v2/\(name)/tags/list")
                #expect(reply.status == .badRequest || reply.status == .notFound, "\(name)")
                #expect(reply.errorCode == "NAME_INVALID" || reply.errorCode == "NOT_FOUND", "\(name)")
            }
            let upload = try await client.request(.POST, "/v2/../../etc/blobs/uploads/")
            #expect(upload.status == .badRequest || upload.status == .notFound)
            let tag = try await client.request(.PUT, "/v2/app/manifests/bad!tag", headers: [("Content-Type", MediaType.ociManifest)], body: Array("{}".utf8))
            #expect(tag.status == .badRequest)
            #expect(tag.errorCode == "TAG_INVALID")
            #expect(!FileManager.default.fileExists(atPath: client.registry.root + "/../etc"))
        }
    }

    @Test func tlsClientHelloOnThePlainPortGetsAnHTTP400StatusLine() async throws {
        try await TestRegistry.with { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            // The first bytes of a TLS 1.2 ClientHello record.
            try connection.send([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03] + RegistryClient.randomBytes(64))
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.1 400"))
        }
    }

    @Test func expectContinueIsAnsweredBeforeTheBody() async throws {
        try await TestRegistry.with { client in
            let bytes = Array("hello".utf8)
            let digest = RegistryClient.digest(bytes)
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            try connection.send(Array("POST /v2/app/blobs/uploads/?digest=\(digest) HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".utf8))
            try await Task.sleep(for: .milliseconds(200))
            try connection.send(bytes)
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.1 100 Continue"))
            #expect(reply.contains("HTTP/1.1 201 Created"))
        }
    }

    @Test func connectionsAreReusedAndClosedOnRequest() async throws {
        try await TestRegistry.with { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            try connection.send(Array("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            #expect(reply.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
            #expect(reply.contains("Connection: close"))
        }
    }

    @Test func oversizedHeadersAreRefusedAndTheConnectionClosed() async throws {
        try await TestRegistry.with { client in
            let connection = try RawConnection(port: client.registry.port)
            defer { connection.close() }
            let headers = (0..<500).map { "X-Filler-\($0): \(String(repeating: "v", count: 200))\r\n" }.joined()
            try connection.send(Array("GET /v2/ HTTP/1.1\r\nHost: x\r\n\(headers)\r\n".utf8))
            let reply = String(decoding: await connection.receive(), as: UTF8.self)
            #expect(reply.hasPrefix("HTTP/1.1 400"))
        }
    }
}
