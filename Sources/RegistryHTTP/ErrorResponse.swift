import Foundation
import NIOCore
import NIOHTTP1
import RegistryModel

/// The one place where a ``RegistryError`` becomes an HTTP response: the spec's JSON envelope,
/// the code's status, and any headers the error carries.
enum ErrorResponse {
    private struct Envelope: Encodable {
        struct Entry: Encodable {
            let code: String
            let message: String
            let detail: [String: String]?
        }
        let errors: [Entry]
    }

    /// `Retry-After` of a `429` whose error named no delay.
    static let defaultRetryAfterSeconds = 1

    static func make(_ error: RegistryError, for method: HTTPMethod) -> Response {
        let envelope = Envelope(errors: [.init(code: error.code.wireCode, message: error.message, detail: error.detail)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let json = (try? encoder.encode(envelope)) ?? Data(#"{"errors":[]}"#.utf8)
        var headers = HTTPHeaders([("Content-Type", "application/json; charset=utf-8")])
        for (name, value) in error.headers {
            headers.add(name: name, value: value)
        }
        if error.code == .tooManyRequests, !headers.contains(name: "retry-after") {
            // The spec asks every 429 to say when to come back; a limit that knows better sets
            // its own value, this is the floor for any that forgets.
            headers.add(name: "Retry-After", value: "\(defaultRetryAfterSeconds)")
        }
        let status = HTTPResponseStatus(statusCode: error.status)
        if method == .HEAD {
            headers.add(name: "Content-Length", value: "\(json.count)")
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers, body: .buffer(ByteBuffer(bytes: json)))
    }
}
