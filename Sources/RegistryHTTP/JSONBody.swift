import Foundation
import NIOCore
import NIOHTTP1

/// Encodes JSON response bodies.
enum JSONBody {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response<Value: Encodable>(
        _ value: Value, status: HTTPResponseStatus = .ok, contentType: String = "application/json; charset=utf-8",
        headers extra: HTTPHeaders = [:]
    ) throws -> Response {
        let data = try encoder.encode(value)
        var headers = extra
        headers.add(name: "Content-Type", value: contentType)
        return Response(status: status, headers: headers, body: .buffer(ByteBuffer(bytes: data)))
    }
}
