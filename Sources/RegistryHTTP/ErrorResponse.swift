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

    static func make(_ error: RegistryError, for method: HTTPMethod) -> Response {
        let envelope = Envelope(errors: [.init(code: error.code.rawValue, message: error.message, detail: error.detail)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let json = (try? encoder.encode(envelope)) ?? Data(#"{"errors":[]}"#.utf8)
        var headers = HTTPHeaders([("Content-Type", "application/json; charset=utf-8")])
        for (name, value) in error.headers {
            headers.add(name: name, value: value)
        }
        let status = HTTPResponseStatus(statusCode: error.status)
        if method == .HEAD {
            headers.add(name: "Content-Length", value: "\(json.count)")
            return Response(status: status, headers: headers)
        }
        return Response(status: status, headers: headers, body: .buffer(ByteBuffer(bytes: json)))
    }
}
