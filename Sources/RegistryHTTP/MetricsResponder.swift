import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore

/// Serves `GET /metrics` (Prometheus text format), behind a bearer token when one is set, and
/// hands every other request to `next`: the registry when the metrics share its listener, nil
/// (`404`) on a listener of their own.
public struct MetricsResponder: HTTPResponder {
    public static let path = "/metrics"

    let exposition: MetricsExposition
    /// The `Authorization: Bearer` token a scrape must carry; nil for none.
    let token: String?
    let next: (any HTTPResponder)?

    public init(exposition: MetricsExposition, token: String?, next: (any HTTPResponder)?) {
        self.exposition = exposition
        self.token = token
        self.next = next
    }

    public func respond(to request: Request) async -> Response {
        guard request.path == Self.path else {
            if let next { return await next.respond(to: request) }
            return Self.text(.notFound, "not found\n")
        }
        guard request.method == .GET || request.method == .HEAD else {
            var response = Self.text(.methodNotAllowed, "method \(request.method.rawValue) is not allowed here\n")
            response.headers.add(name: "Allow", value: "GET, HEAD")
            return response
        }
        if let token, !Self.carries(token, request.headers.first(name: "authorization")) {
            var response = Self.text(.unauthorized, "a bearer token is required\n")
            response.headers.add(name: "WWW-Authenticate", value: #"Bearer realm="metrics""#)
            return response
        }
        let body = await exposition.render()
        return Response(
            status: .ok, headers: ["Content-Type": MetricsExposition.contentType, "Cache-Control": "no-store"],
            body: .buffer(ByteBuffer(bytes: body)))
    }

    private static func text(_ status: HTTPResponseStatus, _ message: String) -> Response {
        Response(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .buffer(ByteBuffer(string: message)))
    }

    /// Whether `authorization` is `Bearer <token>`, compared in time that does not depend on
    /// where the first difference is.
    static func carries(_ token: String, _ authorization: String?) -> Bool {
        guard let authorization else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let presented = Array(parts[1].trimmingCharacters(in: .whitespaces).utf8), expected = Array(token.utf8)
        guard presented.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(presented, expected) { difference |= a ^ b }
        return difference == 0
    }
}
