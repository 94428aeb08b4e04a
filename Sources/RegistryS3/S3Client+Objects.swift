import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

extension S3Client {
    /// Stores `body` under `key`, replacing any object there. Returns the new ETag.
    @discardableResult
    public func putObject(_ key: String, body: S3Body, contentType: String? = nil) async throws -> String {
        var operation = S3Operation(name: "PutObject", method: .PUT, key: key, body: body)
        if let contentType { operation.headers.append(("Content-Type", contentType)) }
        let headers = try await discardingBody(operation)
        guard let etag = headers.first(name: "etag") else {
            throw S3ClientError.invalidResponse(operation: operation.name, reason: "no ETag")
        }
        return etag
    }

    /// Starts reading an object, or a range of it, for a task to read: `body` of the result
    /// (a ``S3ObjectDelivery/stream(readAhead:)``). Nil when there is no such key.
    public func getObject(_ key: String, range: S3Range? = nil) async throws -> S3ObjectStream? {
        try await openObject(key, range: range)?.stream()
    }

    /// Starts reading an object, or a range of it, through AsyncHTTPClient's delegate
    /// interface: its body waits for one consumer (see ``S3ObjectDelivery``). Given an event
    /// loop, the connection is made or taken there and the body is handed over on it: pass the
    /// event loop of the connection the bytes go on to. Nil when there is no such key.
    public func openObject(_ key: String, range: S3Range? = nil, on eventLoop: (any EventLoop)? = nil) async throws -> S3ObjectDelivery? {
        var operation = S3Operation(name: "GetObject", method: .GET, key: key)
        if let range { operation.headers.append(("Range", range.headerValue)) }
        let policy = configuration.retries
        var attempt = 1
        while true {
            do {
                return try await openOnce(operation, on: eventLoop ?? http.eventLoopGroup.next())
            } catch let error as S3Error where error.code == "NoSuchKey" {
                return nil
            } catch where attempt < policy.attempts && S3RetryPolicy.isTransient(error) {
                attempt += 1
                try await Task.sleep(for: policy.delay(before: attempt))
            }
        }
    }

    private func openOnce(_ operation: S3Operation, on eventLoop: any EventLoop) async throws -> S3ObjectDelivery {
        let signed = requests.request(for: operation, at: Date())
        let request = try HTTPClient.Request(url: signed.url, method: signed.method, headers: signed.headers)
        let receiver = DeliveryReceiver(eventLoop: eventLoop, success: [200, 206])
        // No deadline: it would bound the whole body, which may be gigabytes to a slow client.
        // The idle timeouts watch the connection.
        let task = http.execute(request: request, delegate: receiver, eventLoop: .delegateAndChannel(on: eventLoop))
        let (head, errorBody) = try await withTaskCancellationHandler {
            try await receiver.head.futureResult.get()
        } onCancel: {
            task.cancel()
        }
        if let errorBody {
            throw error(for: operation, status: head.status, headers: head.headers, body: Data(errorBody.readableBytesView))
        }
        return try S3ObjectDelivery(head: head, receiver: receiver, task: task)
    }

    /// An object's size and ETag, or nil when there is no such key (or no bucket: a HEAD
    /// response has no body to tell them apart).
    public func headObject(_ key: String) async throws -> S3ObjectInfo? {
        let operation = S3Operation(name: "HeadObject", method: .HEAD, key: key)
        let response = try await send(operation, success: [200, 404])
        for try await _ in response.body {}
        if response.status == .notFound { return nil }
        let headers = response.headers
        guard let size = headers.first(name: "content-length").flatMap(Int64.init), let etag = headers.first(name: "etag") else {
            throw S3ClientError.invalidResponse(operation: operation.name, reason: "no Content-Length or ETag")
        }
        return S3ObjectInfo(size: size, etag: etag, contentType: headers.first(name: "content-type"))
    }

    /// Removes an object. Succeeds also when there was none, as S3 does.
    public func deleteObject(_ key: String) async throws {
        _ = try await discardingBody(S3Operation(name: "DeleteObject", method: .DELETE, key: key), success: [200, 204])
    }

    /// The most keys one DeleteObjects request takes.
    public static let deleteBatchLimit = 1000

    /// Removes up to ``deleteBatchLimit`` objects in one request (DeleteObjects); keys with no
    /// object are no error. Throws ``S3Error`` for the first key the service failed to delete
    /// (the others of the batch may be gone).
    public func deleteObjects(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        guard keys.count <= Self.deleteBatchLimit else {
            throw S3ClientError.invalidArgument("DeleteObjects takes at most \(Self.deleteBatchLimit) keys, not \(keys.count)")
        }
        let xml = "<Delete><Quiet>true</Quiet>"
            + keys.map { "<Object><Key>\(S3XMLElement.escape(requests.location.fullKey($0)))</Key></Object>" }.joined()
            + "</Delete>"
        let body = ByteBuffer(string: xml)
        // S3 requires a checksum of the body for this call.
        let md5 = Data(body.withUnsafeReadableBytes { Insecure.MD5.hash(data: $0) }).base64EncodedString()
        let operation = S3Operation(
            name: "DeleteObjects", method: .POST, key: nil, query: [("delete", "")],
            headers: [("Content-Type", "application/xml"), ("Content-MD5", md5)], body: .bytes(body))
        let failures = try S3ResponseParsing.deleteFailures(try await document(operation), keyPrefix: configuration.keyPrefix)
        if let failure = failures.first {
            throw S3Error(
                operation: operation.name, key: failure.key, status: 200, code: failure.code, message: failure.message,
                requestID: nil)
        }
    }

    /// Copies an object within the bucket on the server, without its bytes passing through the
    /// client (up to 5 GiB, S3's limit for one copy). Returns the copy's ETag.
    @discardableResult
    public func copyObject(from source: String, to destination: String) async throws -> String {
        let operation = S3Operation(
            name: "CopyObject", method: .PUT, key: destination,
            headers: [("x-amz-copy-source", requests.location.copySource(forKey: source))])
        return try S3ResponseParsing.copiedETag(try await document(operation))
    }
}
