extension S3Client {
    /// One page of the keys that start with `prefix`, in key order (ListObjectsV2). Pass the
    /// page's `continuationToken` back to get the next page.
    ///
    /// - Parameters:
    ///   - delimiter: groups keys by what follows `prefix` up to it (`/`) into `commonPrefixes`.
    ///   - maxKeys: at most this many keys (S3 caps it at 1,000).
    public func listObjectsV2(
        prefix: String = "",
        delimiter: String? = nil,
        continuationToken: String? = nil,
        maxKeys: Int = 1000
    ) async throws -> S3ListPage {
        guard maxKeys > 0 else { throw S3ClientError.invalidArgument("maxKeys must be positive") }
        var operation = S3Operation(
            name: "ListObjectsV2", method: .GET, key: nil,
            query: [("list-type", "2"), ("prefix", requests.location.fullKey(prefix)), ("max-keys", String(maxKeys))])
        if let delimiter { operation.query.append(("delimiter", delimiter)) }
        if let continuationToken { operation.query.append(("continuation-token", continuationToken)) }
        return try S3ResponseParsing.listPage(try await document(operation), keyPrefix: configuration.keyPrefix)
    }
}
