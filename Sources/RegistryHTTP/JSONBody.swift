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

    /// A body written by hand with ``write(_:into:)``: for the listings, which are requested
    /// often and are only strings, JSONEncoder was a fifth of a request's CPU time.
    static func response(
        headers extra: HTTPHeaders = [:], contentType: String = "application/json; charset=utf-8",
        writing body: (inout ByteBuffer) -> Void
    ) -> Response {
        var buffer = ByteBuffer()
        body(&buffer)
        var headers = extra
        headers.add(name: "Content-Type", value: contentType)
        return Response(status: .ok, headers: headers, body: .buffer(buffer))
    }

    /// Writes `value` as a JSON string, escaping what RFC 8259 requires.
    static func write(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var plainStart = value.utf8.startIndex
        for index in value.utf8.indices {
            let byte = value.utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            buffer.writeSubstring(value[plainStart..<index])
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            default:
                let hex = String(byte, radix: 16)
                buffer.writeString("\\u00" + (hex.count == 1 ? "0" + hex : hex))
            }
            plainStart = value.utf8.index(after: index)
        }
        buffer.writeSubstring(value[plainStart...])
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// Writes `values` as a JSON array of strings.
    static func write(_ values: [String], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "["))
        for (position, value) in values.enumerated() {
            if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            write(value, into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }
}
