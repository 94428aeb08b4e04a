import Foundation

/// What HEAD tells about an object.
public struct S3ObjectInfo: Sendable, Equatable {
    public var size: Int64
    /// As S3 sends it, quotes included (`"9b2cf535f27731c974343645a3985328"`; `"…-3"` after a
    /// multipart upload).
    public var etag: String
    public var contentType: String?

    public init(size: Int64, etag: String, contentType: String? = nil) {
        self.size = size
        self.etag = etag
        self.contentType = contentType
    }
}

/// A byte range to read. S3 answers 416 `InvalidRange` for a range that starts past the end.
public enum S3Range: Sendable, Equatable {
    /// `first...last`, both included.
    case bytes(first: Int64, last: Int64)
    /// From `first` to the end.
    case from(Int64)
    /// The last `count` bytes.
    case suffix(Int64)

    var headerValue: String {
        switch self {
        case .bytes(let first, let last): "bytes=\(first)-\(last)"
        case .from(let first): "bytes=\(first)-"
        case .suffix(let count): "bytes=-\(count)"
        }
    }
}

/// A part of a multipart upload, as UploadPart returns it and CompleteMultipartUpload takes it.
public struct S3Part: Sendable, Equatable {
    /// 1 to 10,000.
    public var number: Int
    public var etag: String

    public init(number: Int, etag: String) {
        self.number = number
        self.etag = etag
    }
}

/// A part as ListParts reports it.
public struct S3ListedPart: Sendable, Equatable {
    public var part: S3Part
    public var size: Int64

    public init(part: S3Part, size: Int64) {
        self.part = part
        self.size = size
    }
}

/// An object as ListObjectsV2 reports it.
public struct S3ListedObject: Sendable, Equatable {
    /// Relative to the configured key prefix.
    public var key: String
    public var size: Int64
    public var etag: String
    public var lastModified: Date?

    public init(key: String, size: Int64, etag: String, lastModified: Date? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// One page of ListObjectsV2.
public struct S3ListPage: Sendable, Equatable {
    public var objects: [S3ListedObject]
    /// With a delimiter: the prefixes (relative to the configured key prefix) that group keys.
    public var commonPrefixes: [String]
    /// Pass to the next call to get the next page; nil on the last page.
    public var continuationToken: String?

    public init(objects: [S3ListedObject], commonPrefixes: [String] = [], continuationToken: String? = nil) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.continuationToken = continuationToken
    }
}

/// A multipart upload begun and not yet completed or aborted, as ListMultipartUploads reports it.
public struct S3MultipartUpload: Sendable, Equatable {
    /// Relative to the configured key prefix.
    public var key: String
    public var uploadID: String
    public var initiated: Date?

    public init(key: String, uploadID: String, initiated: Date? = nil) {
        self.key = key
        self.uploadID = uploadID
        self.initiated = initiated
    }
}

/// A key that DeleteObjects did not delete, and why.
public struct S3DeleteFailure: Sendable, Equatable {
    /// Relative to the configured key prefix.
    public var key: String
    public var code: String?
    public var message: String?

    public init(key: String, code: String?, message: String?) {
        self.key = key
        self.code = code
        self.message = message
    }
}
