/// An error the S3 service reported: a status other than the operation's success, or an
/// `<Error>` document (CopyObject and CompleteMultipartUpload may send one with status 200).
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operation, as S3 names it (`PutObject`, `CompleteMultipartUpload`).
    public var operation: String
    public var key: String?
    public var status: Int
    /// S3's error code (`NoSuchKey`, `SignatureDoesNotMatch`, `InvalidAccessKeyId`); nil when the
    /// response had no `<Error>` body (any error of a HEAD request).
    public var code: String?
    public var message: String?
    public var requestID: String?

    public init(operation: String, key: String?, status: Int, code: String?, message: String?, requestID: String?) {
        self.operation = operation
        self.key = key
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
    }

    public var description: String {
        var text = "S3 \(operation)"
        if let key { text += " \(key)" }
        text += " failed: \(status)"
        if let code { text += " \(code)" }
        if let message, !message.isEmpty { text += ": \(message)" }
        if let requestID { text += " (request \(requestID))" }
        return text
    }
}

/// A failure on our side of the wire: a configuration that cannot work, or a response the
/// client cannot understand.
public enum S3ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case invalidArgument(String)
    case invalidResponse(operation: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid S3 configuration: \(reason)"
        case .invalidArgument(let reason): "invalid S3 request: \(reason)"
        case .invalidResponse(let operation, let reason): "S3 \(operation): unexpected response: \(reason)"
        }
    }
}
