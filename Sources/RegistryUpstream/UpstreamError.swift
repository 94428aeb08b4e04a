import RegistryModel

/// What can go wrong talking to another registry.
public enum UpstreamError: Error, CustomStringConvertible, Equatable {
    case invalidAddress(String, reason: String)
    /// The registry answered with an unexpected status; `code` is the OCI error code if any.
    case status(Int, url: String, code: String?, message: String)
    case unauthorized(url: String, reason: String)
    /// The bytes served under a digest hash to something else.
    case digestMismatch(expected: Digest, actual: Digest)
    case manifestTooLarge(url: String)
    case invalidResponse(url: String, reason: String)
    /// The registry failed to answer moments ago and is left alone for a while.
    case unreachable(url: String)

    public var description: String {
        switch self {
        case .invalidAddress(let text, let reason): "invalid registry address \(text): \(reason)"
        case .status(let status, let url, let code, let message):
            "\(url) answered \(status)\(code.map { " \($0)" } ?? "")\(message.isEmpty ? "" : ": \(message)")"
        case .unauthorized(let url, let reason): "\(url): not authorized (\(reason))"
        case .digestMismatch(let expected, let actual): "content for \(expected) hashes to \(actual)"
        case .manifestTooLarge(let url): "\(url): manifest larger than 4 MiB"
        case .invalidResponse(let url, let reason): "\(url): \(reason)"
        case .unreachable(let url): "\(url) did not answer moments ago"
        }
    }
}
