import NIOCore

/// Multipart uploads: how objects larger than one request (or uploaded in pieces, like a
/// registry's chunked blob uploads) are written. Every part but the last must be at least 5 MiB.
extension S3Client {
    /// Starts an upload; returns its ID.
    public func createMultipartUpload(_ key: String, contentType: String? = nil) async throws -> String {
        var operation = S3Operation(name: "CreateMultipartUpload", method: .POST, key: key, query: [("uploads", "")])
        if let contentType { operation.headers.append(("Content-Type", contentType)) }
        return try S3ResponseParsing.uploadID(try await document(operation))
    }

    /// Uploads part `number` (1 to 10,000); uploading a number again replaces the part.
    public func uploadPart(_ key: String, uploadID: String, number: Int, body: S3Body) async throws -> S3Part {
        guard (1...10_000).contains(number) else { throw S3ClientError.invalidArgument("part number \(number) is not in 1...10000") }
        let operation = S3Operation(
            name: "UploadPart", method: .PUT, key: key,
            query: [("partNumber", String(number)), ("uploadId", uploadID)], body: body)
        let headers = try await discardingBody(operation)
        guard let etag = headers.first(name: "etag") else {
            throw S3ClientError.invalidResponse(operation: operation.name, reason: "no ETag")
        }
        return S3Part(number: number, etag: etag)
    }

    /// Makes part `number` a copy of the object `source` (or of the bytes `range` of it) on the
    /// server, without the bytes passing through the client: how objects are assembled from
    /// others. Each part copies at most 5 GiB; every part but the last must be at least 5 MiB.
    public func uploadPartCopy(
        _ key: String, uploadID: String, number: Int, from source: String, range: ClosedRange<Int64>? = nil
    ) async throws -> S3Part {
        guard (1...10_000).contains(number) else { throw S3ClientError.invalidArgument("part number \(number) is not in 1...10000") }
        var operation = S3Operation(
            name: "UploadPartCopy", method: .PUT, key: key,
            query: [("partNumber", String(number)), ("uploadId", uploadID)],
            headers: [("x-amz-copy-source", requests.location.copySource(forKey: source))])
        if let range {
            operation.headers.append(("x-amz-copy-source-range", "bytes=\(range.lowerBound)-\(range.upperBound)"))
        }
        return S3Part(number: number, etag: try S3ResponseParsing.copiedPartETag(try await document(operation)))
    }

    /// Joins the parts, in the order given (ascending numbers), into the object. Returns its
    /// ETag, or nil when the service leaves it out (radosgw 16 sends an empty one; HEAD has it).
    @discardableResult
    public func completeMultipartUpload(_ key: String, uploadID: String, parts: [S3Part]) async throws -> String? {
        let xml = "<CompleteMultipartUpload>"
            + parts.map {
                "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XMLElement.escape($0.etag))</ETag></Part>"
            }.joined()
            + "</CompleteMultipartUpload>"
        let operation = S3Operation(
            name: "CompleteMultipartUpload", method: .POST, key: key, query: [("uploadId", uploadID)],
            headers: [("Content-Type", "application/xml")], body: .bytes(ByteBuffer(string: xml)))
        return try S3ResponseParsing.completedETag(try await document(operation))
    }

    /// Abandons an upload and frees its parts.
    public func abortMultipartUpload(_ key: String, uploadID: String) async throws {
        let operation = S3Operation(name: "AbortMultipartUpload", method: .DELETE, key: key, query: [("uploadId", uploadID)])
        _ = try await discardingBody(operation, success: [200, 204])
    }

    /// The parts uploaded so far, in ascending order, following every page.
    public func listParts(_ key: String, uploadID: String) async throws -> [S3ListedPart] {
        var parts: [S3ListedPart] = []
        var marker: Int?
        repeat {
            var operation = S3Operation(name: "ListParts", method: .GET, key: key, query: [("uploadId", uploadID)])
            if let marker { operation.query.append(("part-number-marker", String(marker))) }
            let page = try S3ResponseParsing.parts(try await document(operation))
            parts += page.parts
            marker = page.nextMarker
        } while marker != nil
        return parts
    }

    /// The multipart uploads begun and neither completed nor aborted whose keys start with
    /// `prefix`, following every page: what a crashed writer leaves behind.
    public func listMultipartUploads(prefix: String = "") async throws -> [S3MultipartUpload] {
        var uploads: [S3MultipartUpload] = []
        var markers: (key: String, uploadID: String)?
        repeat {
            var operation = S3Operation(
                name: "ListMultipartUploads", method: .GET, key: nil,
                query: [("uploads", ""), ("prefix", requests.location.fullKey(prefix))])
            if let markers {
                operation.query += [("key-marker", markers.key), ("upload-id-marker", markers.uploadID)]
            }
            let page = try S3ResponseParsing.multipartUploads(try await document(operation), keyPrefix: configuration.keyPrefix)
            uploads += page.uploads
            markers = page.next
        } while markers != nil
        return uploads
    }
}
