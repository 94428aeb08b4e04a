import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryStorage

extension RegistryResponder {
    /// `GET`/`HEAD /v2/<name>/blobs/<digest>`, with single `Range` support.
    func getBlob(_ digest: Digest, in repository: RepositoryName, request: Request) async throws -> Response {
        var headers = HTTPHeaders([
            ("Docker-Content-Digest", digest.description),
            ("Content-Type", "application/octet-stream"),
            ("Accept-Ranges", "bytes"),
            ("ETag", "\"\(digest)\""),
            ("Cache-Control", "max-age=31536000"),
        ])
        if request.method == .HEAD {
            let size = try await registry.blobSize(digest, in: repository)
            headers.add(name: "Content-Length", value: "\(size)")
            return Response(status: .ok, headers: headers)
        }
        if let url = try await registry.blobRedirect(digest, in: repository) {
            // Every client (docker, podman, skopeo, containerd) follows it, without credentials.
            return Response(status: .temporaryRedirect, headers: [
                "Location": url, "Docker-Content-Digest": digest.description, "Content-Length": "0",
            ])
        }
        let reader: any BlobReader
        switch try await registry.blobContent(digest, in: repository) {
        case .stored(let stored):
            reader = stored
        case .arriving(let fetch):
            if let response = try arriving(fetch, headers: headers, request: request) { return response }
            // The fetch ended meanwhile: the blob is stored now (or the error is reported).
            reader = try await registry.openBlob(digest, in: repository)
        }
        let status: HTTPResponseStatus, range: Range<Int64>
        do {
            (status, range) = try Self.servedRange(request, size: reader.size, headers: &headers)
        } catch {
            try? await reader.close()
            throw error
        }
        return Response(status: status, headers: headers, body: .blob(reader, range: range))
    }

    /// A blob an upstream is still sending, served to this client as it arrives; nil when the
    /// fetch is over by now.
    private func arriving(_ fetch: BlobFetch, headers: HTTPHeaders, request: Request) throws -> Response? {
        var headers = headers
        let (status, range) = try Self.servedRange(request, size: fetch.size, headers: &headers)
        guard let stream = fetch.stream(range: range) else { return nil }
        return Response(status: status, headers: headers, body: .arriving(stream))
    }

    /// What the request's `Range` asks of a blob of `size` bytes: the whole (200) or one range
    /// (206, with `Content-Range` added to `headers`); `RANGE_INVALID` when it cannot be met.
    private static func servedRange(
        _ request: Request, size: Int64, headers: inout HTTPHeaders
    ) throws(RegistryError) -> (HTTPResponseStatus, Range<Int64>) {
        // A size comes from the store or an upstream's `Content-Length`; never build `0..<-1`.
        guard size >= 0 else {
            throw RegistryError(.internalError, message: "blob has an invalid size \(size)")
        }
        switch ByteRange.parse(request.headers.first(name: "range"), size: size) {
        case .whole:
            return (.ok, 0..<size)
        case .partial(let range):
            headers.add(name: "Content-Range", value: "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(size)")
            return (.partialContent, range)
        case .unsatisfiable:
            throw RegistryError(
                .rangeInvalid, message: "requested range not satisfiable for a blob of \(size) bytes",
                headers: [("Content-Range", "bytes */\(size)")])
        }
    }

    /// `DELETE /v2/<name>/blobs/<digest>`.
    func deleteBlob(_ digest: Digest, in repository: RepositoryName) async throws -> Response {
        try await registry.deleteBlob(digest, in: repository)
        return Response(status: .accepted, headers: ["Docker-Content-Digest": digest.description])
    }
}

/// A `Range: bytes=...` request header, resolved against a size (RFC 9110 §14).
enum ByteRange: Equatable {
    case whole
    case partial(Range<Int64>)
    case unsatisfiable

    /// Only a single range is honoured; a multi-range or unparsable header is ignored (the whole
    /// body is served, as RFC 9110 allows). Numbers are digits only, of any length: a first
    /// position beyond `Int64` is past any blob (416), a last position or suffix length beyond
    /// it means "to the end" (clamped), so no figure a client writes can overflow.
    /// A `.partial` range is never empty and always within `0..<size`.
    static func parse(_ header: String?, size: Int64) -> ByteRange {
        guard let header, size >= 0, header.utf8.count >= 6, header.prefix(6).lowercased() == "bytes=" else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            // `bytes=-N`: the last N bytes.
            guard let suffix = DecimalNumber(last)?.saturated else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .partial((size - min(suffix, size))..<size)
        }
        guard let start = DecimalNumber(first) else { return .whole }
        var lastPosition: Int64?
        if !last.isEmpty {
            guard let parsed = DecimalNumber(last) else { return .whole }
            // A last position before the first makes the header invalid: ignored.
            if parsed.saturated < start.saturated { return .whole }
            lastPosition = parsed.saturated
        }
        guard case .value(let startOffset) = start, startOffset < size else { return .unsatisfiable }
        let end = min(lastPosition ?? (size - 1), size - 1)
        return .partial(startOffset..<(end + 1))
    }
}
