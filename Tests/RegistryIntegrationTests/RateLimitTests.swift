import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Request rate limits")
struct RateLimitTests {
    /// One HTTP/1.1 request from a chosen loopback source address (all of 127.0.0.0/8 is the
    /// loopback interface on Linux), so that tests can be several clients.
    private struct Answer {
        var status: Int
        var retryAfter: String?
        var code: String?
    }

    private func request(
        _ path: String, from source: String, port: Int, authorization: (String, String)? = nil
    ) async throws -> Answer {
        let text = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + (authorization.map { "\($0.0): \($0.1)\r\n" } ?? "") + "Connection: close\r\n\r\n"
        let reply = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<String, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try Self.exchange(Array(text.utf8), from: source, port: port) })
            }
        }
        let head = reply.components(separatedBy: "\r\n\r\n").first ?? ""
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        let retryAfter = lines.first { $0.lowercased().hasPrefix("retry-after:") }.map {
            $0.dropFirst("retry-after:".count).trimmingCharacters(in: .whitespaces)
        }
        let code = reply.range(of: #""code":"([A-Z_]+)""#, options: .regularExpression).map {
            reply[$0].dropFirst(8).dropLast(1)
        }.map(String.init)
        return Answer(status: status, retryAfter: retryAfter, code: code)
    }

    private static func exchange(_ bytes: [UInt8], from source: String, port: Int) throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        func address(_ host: String, _ port: Int) -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr(host)
            return address
        }
        var local = address(source, 0)
        var remote = address("127.0.0.1", port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &local, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, size) } }) == 0,
              withUnsafePointer(to: &remote, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, size) } }) == 0
        else { throw TestFailure("cannot connect from \(source)") }
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Refilling is checked on the bucket with simulated time (`RateLimiterTests`): here the rate
    /// is so low that no token comes back during the test, however slowly a busy machine runs it.
    @Test func burstPassesThenTooManyRequestsWithRetryAfter() async throws {
        try await TestRegistry.with(configure: {
            $0.rateLimits = RateLimitPolicy(pull: RateLimit(perSecond: 0.01, burst: 3), push: RateLimit(perSecond: 1, burst: 1))
        }) { (client: RegistryClient) async throws in
            let port = client.registry.port
            for _ in 0..<3 {
                #expect(try await request("/v2/team/app/tags/list", from: "127.0.0.2", port: port).status == 404)
            }
            let refused = try await request("/v2/team/app/tags/list", from: "127.0.0.2", port: port)
            #expect(refused.status == 429)
            #expect(refused.code == "TOOMANYREQUESTS")
            // A token every 100 s: the first one is due in (about) 100 s.
            #expect(refused.retryAfter.flatMap(Int.init).map { (90...100).contains($0) } == true)
            // Probes are never limited; other classes and other clients have their own buckets.
            for _ in 0..<5 {
                #expect(try await request("/healthz", from: "127.0.0.2", port: port).status == 200)
                #expect(try await request("/readyz", from: "127.0.0.2", port: port).status == 200)
            }
            #expect(try await request("/v2/", from: "127.0.0.2", port: port).status == 200)
            #expect(try await request("/v2/team/app/tags/list", from: "127.0.0.3", port: port).status == 404)
        }
    }

    @Test func usersHaveTheirOwnBucketsAndAdminsAreExempt() async throws {
        let htpasswd = try TestUsers.htpasswd("alice", "bob", "root")
        let alice = AuthTests.basic("alice", "alice-pw")
        let bob = AuthTests.basic("bob", "bob-pw")
        let root = AuthTests.basic("root", "root-pw")
        let configure: (inout RegistryConfiguration) -> Void = {
            $0.htpasswd = htpasswd
            $0.accessPolicy = AccessPolicy(admins: ["root"])
            $0.rateLimits = RateLimitPolicy(other: RateLimit(perSecond: 0.01, burst: 2))
        }
        try await TestRegistry.with(configure: configure) { (client: RegistryClient) async throws in
            let port = client.registry.port
            #expect(try await request("/v2/", from: "127.0.0.2", port: port, authorization: alice).status == 200)
            #expect(try await request("/v2/", from: "127.0.0.2", port: port, authorization: alice).status == 200)
            #expect(try await request("/v2/", from: "127.0.0.2", port: port, authorization: alice).status == 429)
            // alice is out of tokens from any address; bob, from another, is not.
            #expect(try await request("/v2/", from: "127.0.0.3", port: port, authorization: alice).status == 429)
            #expect(try await request("/v2/", from: "127.0.0.3", port: port, authorization: bob).status == 200)
            #expect(try await request("/v2/", from: "127.0.0.3", port: port, authorization: bob).status == 200)
            #expect(try await request("/v2/", from: "127.0.0.3", port: port, authorization: bob).status == 429)
            // An admin is never limited, even from an exhausted address.
            for _ in 0..<5 {
                #expect(try await request("/v2/", from: "127.0.0.2", port: port, authorization: root).status == 200)
            }
        }
    }

    @Test func exemptNetworksAreNeverLimited() async throws {
        try await TestRegistry.with(configure: {
            $0.rateLimits = RateLimitPolicy(
                pull: RateLimit(perSecond: 0.01, burst: 1), exemptNetworks: [NetworkRange("127.0.0.4/30")!])
        }) { (client: RegistryClient) async throws in
            let port = client.registry.port
            for _ in 0..<10 {
                #expect(try await request("/v2/team/app/tags/list", from: "127.0.0.5", port: port).status == 404)
            }
            #expect(try await request("/v2/team/app/tags/list", from: "127.0.0.8", port: port).status == 404)
            #expect(try await request("/v2/team/app/tags/list", from: "127.0.0.8", port: port).status == 429)
        }
    }

    @Test func aFullTableDropsTheOldestClients() async throws {
        try await TestRegistry.with(configure: {
            $0.rateLimits = RateLimitPolicy(pull: RateLimit(perSecond: 0.01, burst: 1), maxClients: 2)
        }) { (client: RegistryClient) async throws in
            let port = client.registry.port
            #expect(try await request("/v2/a/tags/list", from: "127.0.0.2", port: port).status == 404)
            #expect(try await request("/v2/a/tags/list", from: "127.0.0.2", port: port).status == 429)
            // Two more clients: the table holds two buckets, so 127.0.0.2's, the oldest, goes
            // and it starts again with a full burst.
            #expect(try await request("/v2/a/tags/list", from: "127.0.0.3", port: port).status == 404)
            #expect(try await request("/v2/a/tags/list", from: "127.0.0.4", port: port).status == 404)
            #expect(try await request("/v2/a/tags/list", from: "127.0.0.2", port: port).status == 404)
        }
    }
}
