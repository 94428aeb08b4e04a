import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import RegistryHTTP
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

@Suite("TLS")
struct TLSTests {
    /// `registry cert` output for 127.0.0.1 and localhost in a fresh directory.
    private func certificates() throws -> CertificateAuthority.Files {
        try CertificateAuthority.issue(hosts: ["127.0.0.1", "localhost"], into: try TestRegistry.makeTemporaryDirectory())
    }

    private func client(trusting ca: String, http1Only: Bool = false, identity: (certificate: String, key: String)? = nil) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(ca)
        if let identity {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(identity.certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: identity.key, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.httpVersion = http1Only ? .http1Only : .automatic
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    @Test(arguments: [false, true])
    func blobsAndManifestsRoundTripOverHTTPS(http1Only: Bool) async throws {
        let files = try certificates()
        let registry = try await TestRegistry.start(configure: {
            $0.tlsCertificate = files.serverCertificate
            $0.tlsKey = files.serverKey
        })
        let http = try client(trusting: files.caCertificate, http1Only: http1Only)
        let client = RegistryClient(registry: registry, http: http)
        do {
            let base = try await client.request(.GET, "/v2/")
            #expect(base.status == .ok)
            #expect(base.version == (http1Only ? .http1_1 : .http2))
            let bytes = RegistryClient.randomBytes(3 * 1024 * 1024 + 5)
            let digest = try await client.pushBlob(bytes, to: "secure/app")
            #expect(try await client.request(.GET, "/v2/secure/app/blobs/\(digest)").bytes == bytes)
            let range = try await client.request(.GET, "/v2/secure/app/blobs/\(digest)", headers: [("Range", "bytes=1048570-1048589")])
            #expect(range.status == .partialContent)
            #expect(range.bytes == Array(bytes[1_048_570...1_048_589]))
            let (manifest, _) = try await client.pushImage(to: "secure/app", tag: "v1")
            #expect(try await client.request(.GET, "/v2/secure/app/manifests/v1").bytes == manifest)
        } catch {
            try? await http.shutdown()
            await registry.stop()
            throw error
        }
        try await http.shutdown()
        await registry.stop()
    }

    @Test func reloadedCertificatesServeNewConnections() async throws {
        let first = try certificates()
        let second = try certificates()
        let live = try TestRegistry.makeTemporaryDirectory()
        for name in ["server.crt", "server.key"] {
            try FileManager.default.copyItem(atPath: first.serverCertificate.replacingOccurrences(of: "server.crt", with: name), toPath: live + "/" + name)
        }
        let store = try TLSContextStore(settings: TLSSettings(certificatePath: live + "/server.crt", privateKeyPath: live + "/server.key"))
        let server = HTTPServer(
            configuration: HTTPServerConfiguration(port: 0), responder: StaticResponder(), logger: .init(label: "test"), tls: store)
        let (addresses, continuation) = AsyncStream<SocketAddress>.makeStream()
        let task = Task { try await server.run(onBound: { continuation.yield($0); continuation.finish() }) }
        var iterator = addresses.makeAsyncIterator()
        let port = try #require(await iterator.next()?.port)

        func status(trusting ca: String) async -> HTTPResponseStatus? {
            guard let http = try? client(trusting: ca) else { return nil }
            defer { _ = http.shutdown(queue: .global()) { _ in } }
            // A refused certificate fails at once; the long timeout is for a loaded machine (the
            // whole suite runs in parallel on two cores), where a handshake took over 3 s in CI.
            return try? await http.execute(HTTPClientRequest(url: "https://127.0.0.1:\(port)/"), timeout: .seconds(20)).status
        }
        #expect(await status(trusting: first.caCertificate) == .ok)
        #expect(await status(trusting: second.caCertificate) == nil)
        for name in ["server.crt", "server.key"] {
            try FileManager.default.removeItem(atPath: live + "/" + name)
            try FileManager.default.copyItem(atPath: second.serverCertificate.replacingOccurrences(of: "server.crt", with: name), toPath: live + "/" + name)
        }
        try store.reload()
        #expect(await status(trusting: second.caCertificate) == .ok)
        #expect(await status(trusting: first.caCertificate) == nil)
        try "not a key".write(toFile: live + "/server.key", atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try store.reload() }
        #expect(await status(trusting: second.caCertificate) == .ok)
        task.cancel()
        _ = try? await task.value
    }

    @Test func clientCertificatesAreOptionalButMustBeValidWhenPresented() async throws {
        let server = try certificates()
        let clients = try CertificateAuthority.issue(hosts: ["127.0.0.1"], clients: ["alice"], into: try TestRegistry.makeTemporaryDirectory())
        let stranger = try CertificateAuthority.issue(hosts: ["127.0.0.1"], clients: ["mallory"], into: try TestRegistry.makeTemporaryDirectory())
        let registry = try await TestRegistry.start(configure: {
            $0.tlsCertificate = server.serverCertificate
            $0.tlsKey = server.serverKey
            $0.tlsClientCA = clients.caCertificate
        })
        let anonymous = try client(trusting: server.caCertificate)
        let alice = try #require(clients.clients["alice"])
        let mallory = try #require(stranger.clients["mallory"])
        let known = try client(trusting: server.caCertificate, identity: (alice.certificate, alice.key))
        let unknown = try client(trusting: server.caCertificate, identity: (mallory.certificate, mallory.key))
        let url = registry.baseURL + "/v2/"
        // A refused certificate fails at once; the long timeout is for a loaded machine (the whole
        // suite runs in parallel), where a handshake has taken over 3 s.
        let anonymousStatus = try? await anonymous.execute(HTTPClientRequest(url: url), timeout: .seconds(20)).status
        let knownStatus = try? await known.execute(HTTPClientRequest(url: url), timeout: .seconds(20)).status
        let unknownStatus = try? await unknown.execute(HTTPClientRequest(url: url), timeout: .seconds(20)).status
        for http in [anonymous, known, unknown] { try? await http.shutdown() }
        await registry.stop()
        // With client CAs configured, an anonymous client is asked to sign in (401); a certificate
        // from another CA fails the handshake.
        #expect(anonymousStatus == .unauthorized)
        #expect(knownStatus == .ok)
        #expect(unknownStatus == nil)
    }

    @Test func certCommandWritesACAAndAServerCertificateForEveryHost() throws {
        let files = try CertificateAuthority.issue(hosts: ["registry.example.com", "10.1.2.3", "::1"], into: try TestRegistry.makeTemporaryDirectory())
        let chain = try NIOSSLCertificate.fromPEMFile(files.serverCertificate)
        #expect(chain.count == 2)
        let names = try #require(chain.first?._subjectAlternativeNames()).map { name -> String in
            switch name.nameType {
            case .dnsName: String(decoding: name.contents, as: UTF8.self)
            case .ipAddress: name.contents.map(String.init).joined(separator: ".")
            default: "other"
            }
        }
        #expect(names.contains("registry.example.com"))
        #expect(names.contains("10.1.2.3"))
        #expect(names.count == 3)
        let keyMode = try FileManager.default.attributesOfItem(atPath: files.serverKey)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        #expect(CertificateAuthority.clientTrustLocations(for: "registry.example.com:5000").contains("/etc/docker/certs.d/registry.example.com:5000/ca.crt"))
    }
}

/// Answers every request with 200 and no body.
private struct StaticResponder: HTTPResponder {
    func respond(to request: Request) async -> Response {
        Response(status: .ok)
    }
}
