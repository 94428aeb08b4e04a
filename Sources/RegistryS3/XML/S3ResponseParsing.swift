import Foundation

/// Reads the XML documents S3 answers with. Each function takes the body and returns the
/// values the client needs, or throws `S3ClientError.invalidResponse`.
enum S3ResponseParsing {
    /// The fields of an `<Error>` document, or nil when `data` is not one.
    static func error(_ data: Data) -> (code: String?, message: String?, requestID: String?)? {
        guard let root = S3XMLElement.parse(data), root.name == "Error" else { return nil }
        return (root.string("Code"), root.string("Message"), root.string("RequestId"))
    }

    static func uploadID(_ data: Data) throws -> String {
        let root = try document(data, named: "InitiateMultipartUploadResult", operation: "CreateMultipartUpload")
        guard let id = root.string("UploadId"), !id.isEmpty else {
            throw S3ClientError.invalidResponse(operation: "CreateMultipartUpload", reason: "no UploadId")
        }
        return id
    }

    /// The ETag of the assembled object; nil when the service leaves it empty (radosgw 16 does).
    static func completedETag(_ data: Data) throws -> String? {
        let root = try document(data, named: "CompleteMultipartUploadResult", operation: "CompleteMultipartUpload")
        return root.string("ETag").flatMap { $0.isEmpty ? nil : quoted($0) }
    }

    static func copiedETag(_ data: Data) throws -> String {
        let root = try document(data, named: "CopyObjectResult", operation: "CopyObject")
        guard let etag = root.string("ETag") else {
            throw S3ClientError.invalidResponse(operation: "CopyObject", reason: "no ETag")
        }
        return quoted(etag)
    }

    static func copiedPartETag(_ data: Data) throws -> String {
        let root = try document(data, named: "CopyPartResult", operation: "UploadPartCopy")
        guard let etag = root.string("ETag"), !etag.isEmpty else {
            throw S3ClientError.invalidResponse(operation: "UploadPartCopy", reason: "no ETag")
        }
        return quoted(etag)
    }

    /// The parts of one page, and the marker of the next page when there is one.
    static func parts(_ data: Data) throws -> (parts: [S3ListedPart], nextMarker: Int?) {
        let operation = "ListParts"
        let root = try document(data, named: "ListPartsResult", operation: operation)
        let parts = try root.children("Part").map { element in
            guard let number = element.string("PartNumber").flatMap(Int.init), let etag = element.string("ETag"),
                let size = element.string("Size").flatMap(Int64.init)
            else { throw S3ClientError.invalidResponse(operation: operation, reason: "a Part lacks PartNumber, ETag or Size") }
            return S3ListedPart(part: S3Part(number: number, etag: quoted(etag)), size: size)
        }
        let truncated = root.string("IsTruncated") == "true"
        return (parts, truncated ? root.string("NextPartNumberMarker").flatMap(Int.init) : nil)
    }

    /// A page of ListMultipartUploads, keys made relative by removing `keyPrefix`, and the
    /// markers of the next page when there is one. The markers stay as sent (full keys).
    static func multipartUploads(
        _ data: Data, keyPrefix: String
    ) throws -> (uploads: [S3MultipartUpload], next: (key: String, uploadID: String)?) {
        let operation = "ListMultipartUploads"
        let root = try document(data, named: "ListMultipartUploadsResult", operation: operation)
        let uploads = try root.children("Upload").map { element in
            guard let key = element.string("Key"), let id = element.string("UploadId") else {
                throw S3ClientError.invalidResponse(operation: operation, reason: "an Upload lacks Key or UploadId")
            }
            return S3MultipartUpload(
                key: key.hasPrefix(keyPrefix) ? String(key.dropFirst(keyPrefix.count)) : key, uploadID: id,
                initiated: element.string("Initiated").flatMap(timestamp))
        }
        guard root.string("IsTruncated") == "true" else { return (uploads, nil) }
        guard let key = root.string("NextKeyMarker"), !key.isEmpty, let id = root.string("NextUploadIdMarker") else {
            throw S3ClientError.invalidResponse(operation: operation, reason: "truncated page without NextKeyMarker")
        }
        return (uploads, (key, id))
    }

    /// A page of ListObjectsV2, keys made relative by removing `keyPrefix`.
    static func listPage(_ data: Data, keyPrefix: String) throws -> S3ListPage {
        let operation = "ListObjectsV2"
        let root = try document(data, named: "ListBucketResult", operation: operation)
        let relative = { (key: String) in key.hasPrefix(keyPrefix) ? String(key.dropFirst(keyPrefix.count)) : key }
        let objects = try root.children("Contents").map { element in
            guard let key = element.string("Key"), let size = element.string("Size").flatMap(Int64.init) else {
                throw S3ClientError.invalidResponse(operation: operation, reason: "a Contents lacks Key or Size")
            }
            return S3ListedObject(
                key: relative(key), size: size, etag: element.string("ETag").map(quoted) ?? "",
                lastModified: element.string("LastModified").flatMap(timestamp))
        }
        let prefixes = root.children("CommonPrefixes").compactMap { $0.string("Prefix") }.map(relative)
        let truncated = root.string("IsTruncated") == "true"
        let token = truncated ? root.string("NextContinuationToken") : nil
        if truncated && (token ?? "").isEmpty {
            throw S3ClientError.invalidResponse(operation: operation, reason: "truncated page without NextContinuationToken")
        }
        return S3ListPage(objects: objects, commonPrefixes: prefixes, continuationToken: token)
    }

    /// The keys a DeleteObjects request failed to delete (a quiet request lists only those),
    /// made relative by removing `keyPrefix`.
    static func deleteFailures(_ data: Data, keyPrefix: String) throws -> [S3DeleteFailure] {
        let root = try document(data, named: "DeleteResult", operation: "DeleteObjects")
        return root.children("Error").map { element in
            let key = element.string("Key") ?? ""
            return S3DeleteFailure(
                key: key.hasPrefix(keyPrefix) ? String(key.dropFirst(keyPrefix.count)) : key,
                code: element.string("Code"), message: element.string("Message"))
        }
    }

    /// An ETag in the quoted form of the `ETag` header, so that values from headers and from
    /// documents compare equal: radosgw 16 leaves the quotes out of CopyObjectResult.
    static func quoted(_ etag: String) -> String {
        etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count >= 2 ? etag : "\"\(etag)\""
    }

    /// `2013-09-17T18:07:53.000Z`, with or without fractional seconds.
    static func timestamp(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }

    /// The root element, which must be `name`. An `<Error>` root (sent with status 200 by
    /// CopyObject and CompleteMultipartUpload when they fail late) is reported by the caller
    /// before this is called.
    private static func document(_ data: Data, named name: String, operation: String) throws -> S3XMLElement {
        guard let root = S3XMLElement.parse(data) else {
            throw S3ClientError.invalidResponse(operation: operation, reason: "body is not XML")
        }
        guard root.name == name else {
            throw S3ClientError.invalidResponse(operation: operation, reason: "expected <\(name)>, got <\(root.name)>")
        }
        return root
    }
}
