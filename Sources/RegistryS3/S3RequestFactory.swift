import AsyncHTTPClient
import Foundation
import NIOHTTP1

/// Turns an operation into a signed HTTP request. The URL's path and query are the very
/// strings that were signed.
struct S3RequestFactory: Sendable {
    let location: S3Location
    let signer: SigV4Signer

    func request(for operation: S3Operation, at instant: Date) -> HTTPClientRequest {
        let path = location.path(forKey: operation.key)
        let headers = [("Host", location.hostHeader)] + operation.headers
        let signature = signer.signatureHeaders(
            method: operation.method.rawValue, path: path, query: operation.query, headers: headers,
            payloadSHA256: operation.body.payloadSHA256, at: instant)
        var request = HTTPClientRequest(url: location.url(path: path, query: S3PercentEncoding.canonicalQuery(operation.query)))
        request.method = operation.method
        for (name, value) in headers + signature { request.headers.add(name: name, value: value) }
        if operation.method == .PUT || operation.method == .POST || operation.body.length > 0 {
            request.body = operation.body.payload
        }
        return request
    }
}
