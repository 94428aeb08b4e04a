/// One request and its response, as recorded for the HTML report. Credentials are redacted and
/// bodies cut to their first bytes.
public struct Exchange: Sendable {
    public static let bodyPreviewBytes = 1024

    public var method: String
    public var url: String
    public var requestHeaders: [(String, String)]
    public var requestBodyPreview: [UInt8]
    public var requestBodyLength: Int?
    public var status: Int?
    public var responseHeaders: [(String, String)]
    public var responseBodyPreview: [UInt8]
    public var responseBodyLength: Int
    public var error: String?

    static func redacted(_ headers: [(String, String)]) -> [(String, String)] {
        headers.map { name, value in
            name.lowercased() == "authorization" ? (name, value.split(separator: " ").first.map { "\($0) <redacted>" } ?? "<redacted>") : (name, value)
        }
    }
}
