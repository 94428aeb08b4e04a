import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel

extension RegistryResponder {
    private struct ImageIndex: Encodable {
        let schemaVersion = 2
        let mediaType = MediaType.ociIndex
        let manifests: [Descriptor]
    }

    /// `GET /v2/<name>/tags/list?n=&last=`.
    func tags(in repository: RepositoryName, request: Request) async throws -> Response {
        let (limit, last) = try pagination(request)
        let page = try await registry.tags(in: repository, limit: limit, after: last)
        let headers = nextLink(page, path: "/v2/\(repository)/tags/list", limit: limit)
        return JSONBody.response(headers: headers) { body in
            body.writeStaticString(#"{"name":"#)
            JSONBody.write(repository.value, into: &body)
            body.writeStaticString(#","tags":"#)
            JSONBody.write(page.items, into: &body)
            body.writeStaticString("}")
        }
    }

    /// `GET /v2/_catalog?n=&last=`, listing only repositories the caller may pull from.
    func catalog(_ request: Request, identity: AccessControl.Identity) async throws -> Response {
        let (limit, last) = try pagination(request)
        let page = try await access.catalogPage(for: identity, limit: limit, after: last) { limit, after in
            try await registry.repositories(limit: limit, after: after)
        }
        let headers = nextLink(page, path: "/v2/_catalog", limit: limit)
        return JSONBody.response(headers: headers) { body in
            body.writeStaticString(#"{"repositories":"#)
            JSONBody.write(page.items, into: &body)
            body.writeStaticString("}")
        }
    }

    /// `GET /v2/<name>/referrers/<digest>?artifactType=`.
    func referrers(of digest: Digest, in repository: RepositoryName, request: Request) async throws -> Response {
        let artifactType = request.query["artifactType"]
        let descriptors = try await registry.referrers(of: digest, in: repository, artifactType: artifactType)
        var headers = HTTPHeaders()
        if artifactType != nil {
            headers.add(name: "OCI-Filters-Applied", value: "artifactType")
        }
        return try JSONBody.response(ImageIndex(manifests: descriptors), contentType: MediaType.ociIndex, headers: headers)
    }

    /// `n` and `last` of a listing. `n` must be digits (400 `PAGINATION_NUMBER_INVALID`
    /// otherwise); any larger number than a page holds, however many digits, is clamped to
    /// ``Registry/maximumPageSize``, so nothing downstream sees an absurd count.
    private func pagination(_ request: Request) throws -> (limit: Int?, last: String?) {
        var limit: Int?
        if let n = request.query["n"] {
            guard let value = DecimalNumber(n) else {
                throw RegistryError(.paginationNumberInvalid, detail: ["n": n])
            }
            limit = Int(min(value.saturated, Int64(Registry.maximumPageSize)))
        }
        return (limit, request.query["last"])
    }

    private func nextLink(_ page: Page, path: String, limit: Int?) -> HTTPHeaders {
        guard page.hasMore, let last = page.items.last else { return [:] }
        let n = limit.map { "n=\($0)&" } ?? ""
        return ["Link": "<\(path)?\(n)last=\(PercentEncoding.encode(last, keeping: "/"))>; rel=\"next\""]
    }
}
