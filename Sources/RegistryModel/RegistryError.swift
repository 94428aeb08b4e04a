/// An error the registry reports to its client, in the distribution-spec envelope
/// `{"errors":[{"code","message","detail"}]}`.
///
/// Every code maps to exactly one HTTP status in ``ErrorCode``; callers choose the code, never
/// the status, so the table below is the single place where that mapping lives.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var detail: [String: String]?
    /// Extra response headers some errors carry (e.g. `Range` on a 416 during an upload).
    public var headers: [(String, String)]

    public init(_ code: ErrorCode, message: String? = nil, detail: [String: String]? = nil, headers: [(String, String)] = []) {
        self.code = code
        self.message = message ?? code.defaultMessage
        self.detail = detail
        self.headers = headers
    }

    public var status: Int { code.status }
    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: RegistryError, rhs: RegistryError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.detail == rhs.detail
    }
}

/// The error codes of the distribution spec, plus the few that the reference registry added
/// and clients know (`RANGE_INVALID`, `TAG_INVALID`), plus `SIZE_TOO_LARGE` for 413,
/// `TOO_MANY_TAGS` for 414 and `STORAGE_FULL` for 507.
public enum ErrorCode: String, Sendable, CaseIterable {
    case blobUnknown = "BLOB_UNKNOWN"
    case blobUploadInvalid = "BLOB_UPLOAD_INVALID"
    case blobUploadUnknown = "BLOB_UPLOAD_UNKNOWN"
    case digestInvalid = "DIGEST_INVALID"
    case manifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
    case manifestInvalid = "MANIFEST_INVALID"
    case manifestUnknown = "MANIFEST_UNKNOWN"
    case nameInvalid = "NAME_INVALID"
    case nameUnknown = "NAME_UNKNOWN"
    case sizeInvalid = "SIZE_INVALID"
    case unauthorized = "UNAUTHORIZED"
    case denied = "DENIED"
    case unsupported = "UNSUPPORTED"
    case tooManyRequests = "TOOMANYREQUESTS"
    case rangeInvalid = "RANGE_INVALID"
    case tagInvalid = "TAG_INVALID"
    case manifestTooLarge = "SIZE_TOO_LARGE"
    case requestHeaderTooLarge = "HEADERS_TOO_LARGE"
    case paginationNumberInvalid = "PAGINATION_NUMBER_INVALID"
    case notFound = "NOT_FOUND"
    case unavailable = "UNAVAILABLE"
    case internalError = "INTERNAL_ERROR"
    /// The registry's disk (or quota, or database) has no room left for the request. Not a spec
    /// code: the spec has none for a server-side condition. 507 Insufficient Storage (RFC 4918
    /// §11.5) says exactly this: the server cannot store what the request needs. It is a 5xx, so
    /// clients treat it as the server's fault and retry later (docker retries a failed push),
    /// unlike a 4xx such as 413 that blames the request; unlike 500 it tells operator and user
    /// what to fix; unlike 503 it does not suggest an overload that passes by itself. The
    /// reference registry (CNCF distribution) answers an opaque 500 here.
    case storageFull = "STORAGE_FULL"
    /// A manifest push names more tags (`?tag=` parameters) than the registry sets in one
    /// request. Not a spec code; the status is the one the spec names for it, 414.
    case tooManyTags = "TOO_MANY_TAGS"
    /// A tag an `immutable_tags` rule protects would move or go. Sent as the spec's `DENIED`
    /// (``wireCode``), the code clients know for a refused operation, with 409 Conflict rather
    /// than 403: the caller has the right to push or delete, the request conflicts with the tag's
    /// current state (pushing the manifest it already points at succeeds).
    case tagImmutable = "TAG_IMMUTABLE"
    /// A query parameter of a registry-specific endpoint (the admin API) has a value it cannot
    /// use. Sent as the spec's `UNSUPPORTED` (``wireCode``) with 400: the request is malformed,
    /// not a method the endpoint lacks (405).
    case parameterInvalid = "PARAMETER_INVALID"

    /// The code in the error body: the case's own, except where a case only refines a spec
    /// code with another status (``tagImmutable`` is `DENIED`).
    public var wireCode: String {
        switch self {
        case .tagImmutable: ErrorCode.denied.rawValue
        case .parameterInvalid: ErrorCode.unsupported.rawValue
        default: rawValue
        }
    }

    public var status: Int {
        switch self {
        case .blobUnknown, .blobUploadUnknown, .manifestUnknown, .nameUnknown, .notFound: 404
        case .blobUploadInvalid, .digestInvalid, .manifestBlobUnknown, .manifestInvalid, .nameInvalid,
             .sizeInvalid, .tagInvalid, .paginationNumberInvalid, .parameterInvalid:
            400
        case .unauthorized: 401
        case .denied: 403
        case .unsupported: 405
        case .tagImmutable: 409
        case .manifestTooLarge: 413
        case .tooManyTags: 414
        case .rangeInvalid: 416
        case .tooManyRequests: 429
        case .requestHeaderTooLarge: 431
        case .internalError: 500
        case .unavailable: 503
        case .storageFull: 507
        }
    }

    public var defaultMessage: String {
        switch self {
        case .blobUnknown: "blob unknown to registry"
        case .blobUploadInvalid: "blob upload invalid"
        case .blobUploadUnknown: "blob upload unknown to registry"
        case .digestInvalid: "provided digest did not match uploaded content"
        case .manifestBlobUnknown: "manifest references a manifest or blob unknown to registry"
        case .manifestInvalid: "manifest invalid"
        case .manifestUnknown: "manifest unknown to registry"
        case .nameInvalid: "invalid repository name"
        case .nameUnknown: "repository name not known to registry"
        case .sizeInvalid: "provided length did not match content length"
        case .unauthorized: "authentication required"
        case .denied: "requested access to the resource is denied"
        case .unsupported: "the operation is unsupported"
        case .parameterInvalid: "invalid query parameter"
        case .tooManyRequests: "too many requests"
        case .rangeInvalid: "invalid content range"
        case .tagInvalid: "invalid tag"
        case .manifestTooLarge: "manifest exceeds the size limit"
        case .requestHeaderTooLarge: "request header fields too large"
        case .paginationNumberInvalid: "invalid number of results requested"
        case .notFound: "no such endpoint"
        case .unavailable: "service unavailable"
        case .internalError: "internal server error"
        case .tooManyTags: "too many tags in one manifest push"
        case .tagImmutable: "the tag is immutable"
        case .storageFull: "the registry's storage is full: nothing more can be stored until space is freed"
        }
    }
}

extension Digest {
    /// Parses a digest that arrived from a client, turning grammar failures into `DIGEST_INVALID`.
    public init(validating string: String) throws(RegistryError) {
        do {
            try self.init(parsing: string)
        } catch .unsupportedAlgorithm(let algorithm) {
            throw RegistryError(
                .digestInvalid,
                message: "unsupported digest algorithm \"\(algorithm)\"; supported: sha256, sha512",
                detail: ["digest": string]
            )
        } catch {
            throw RegistryError(.digestInvalid, message: "invalid digest", detail: ["digest": string])
        }
    }
}

extension DigestAlgorithm {
    /// Parses the `digest-algorithm` an upload asks for, failing with `DIGEST_INVALID`.
    public init(validating string: String) throws(RegistryError) {
        guard let algorithm = DigestAlgorithm(rawValue: string) else {
            throw RegistryError(
                .digestInvalid,
                message: "unsupported digest algorithm \"\(string)\"; supported: \(DigestAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))",
                detail: ["digest-algorithm": string])
        }
        self = algorithm
    }
}

extension RepositoryName {
    /// Parses a repository name that arrived from a client, failing with `NAME_INVALID`.
    public init(validating string: String) throws(RegistryError) {
        guard let name = RepositoryName(string) else {
            throw RegistryError(.nameInvalid, detail: ["name": string])
        }
        self = name
    }
}
