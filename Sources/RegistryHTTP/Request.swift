import NIOCore
import NIOHTTP1
import RegistryModel

/// One HTTP request as handlers see it: the parsed target and headers, and a body that is
/// read from the connection on demand (with backpressure), never buffered whole.
public struct Request {
    public let head: HTTPRequestHead
    public let path: String
    public let query: QueryParameters
    public let body: RequestBody
    /// Common name of the client certificate the client authenticated with (mutual TLS), if any.
    public let clientCertificateName: String?
    /// The client's IP address.
    public let remoteAddress: String?

    public var method: HTTPMethod { head.method }
    public var headers: HTTPHeaders { head.headers }

    /// A request built in memory rather than read from a connection: lets handlers (and
    /// ``RegistryResponder/respond(to:)``) run without a socket, e.g. in tests.
    public init(
        method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: RequestBody = .empty,
        version: HTTPVersion = .http1_1, clientCertificateName: String? = nil, remoteAddress: String? = nil
    ) {
        self.init(
            head: HTTPRequestHead(version: version, method: method, uri: uri, headers: headers), body: body,
            clientCertificateName: clientCertificateName, remoteAddress: remoteAddress)
    }

    init(head: HTTPRequestHead, body: RequestBody, clientCertificateName: String? = nil, remoteAddress: String? = nil) {
        self.head = head
        self.clientCertificateName = clientCertificateName
        self.remoteAddress = remoteAddress
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = String(target.first ?? "")
        self.query = QueryParameters(target.count > 1 ? target[1] : "")
        self.body = body
    }

    /// The declared body length, if the client sent a valid `Content-Length` (digits only). A
    /// length beyond `Int64` reads as `Int64.max`: larger than any limit, which is all it can
    /// be compared with.
    public var contentLength: Int64? {
        headers.first(name: "content-length").flatMap { DecimalNumber($0)?.saturated }
    }
}

/// Decoded `application/x-www-form-urlencoded` query parameters, in order.
public struct QueryParameters: Sendable {
    public private(set) var pairs: [(name: String, value: String)] = []

    init(_ query: Substring) {
        for item in query.split(separator: "&") where !item.isEmpty {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(parts[0], plusAsSpace: true)
            let value = parts.count > 1 ? PercentDecoding.decode(parts[1], plusAsSpace: true) : ""
            pairs.append((name, value))
        }
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }
}

/// `%XX` decoding of request targets and query strings.
enum PercentDecoding {
    /// Decodes `%XX` escapes; a malformed escape is kept literally.
    static func decode(_ string: Substring, plusAsSpace: Bool = false) -> String {
        guard string.utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(string)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count)
        var iterator = Array(string.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
               let high = hexValue(iterator[iterator.startIndex]), let low = hexValue(iterator[iterator.startIndex + 1]) {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// `%XX` encoding of what goes into a URL this server writes (a `Link` header, a page's links):
/// RFC 3986's unreserved characters stay, and those of `keeping`; every other byte is escaped.
enum PercentEncoding {
    static func encode(_ value: String, keeping: StaticString = "") -> String {
        let kept = keeping.withUTF8Buffer { Set($0) }
        var encoded = ""
        encoded.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case _ where kept.contains(byte):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += (hex.count == 1 ? "%0" : "%") + hex
            }
        }
        return encoded
    }
}
