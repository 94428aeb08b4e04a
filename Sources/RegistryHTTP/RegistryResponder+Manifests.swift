import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryStorage

extension RegistryResponder {
    /// `GET`/`HEAD /v2/<name>/manifests/<reference>`, negotiated on every `Accept` line, with
    /// `ETag`/`If-None-Match`. A `GET` that sends the content is a pull (event notifications name `actor`).
    func getManifest(_ reference: Reference, in repository: RepositoryName, request: Request, actor: String? = nil) async throws -> Response {
        let accepted = AcceptedMediaTypes(headerLines: request.headers["accept"])
        let served = try await registry.serveManifest(reference, in: repository, accepting: accepted)
        let manifest = served.manifest
        let etag = "\"\(manifest.digest)\""
        var headers = HTTPHeaders([
            ("Content-Type", manifest.mediaType),
            ("Docker-Content-Digest", manifest.digest.description),
            ("ETag", etag),
        ])
        if served.isStale {
            // RFC 7234's warning for a cached answer the origin did not confirm.
            headers.add(name: "Warning", value: "110 - \"Response is Stale\"")
        }
        if let ifNoneMatch = request.headers.first(name: "if-none-match"),
           ifNoneMatch.split(separator: ",").contains(where: { candidate in
               let value = candidate.trimmingCharacters(in: .whitespaces)
               return value == "*" || value == etag || value == "W/\(etag)" || value == manifest.digest.description
           })
        {
            headers.replaceOrAdd(name: "Content-Length", value: "0")
            return Response(status: .notModified, headers: headers)
        }
        if request.method == .HEAD {
            headers.add(name: "Content-Length", value: "\(manifest.size)")
            return Response(status: .ok, headers: headers)
        }
        registry.recordPull(of: manifest, reference: reference, in: repository, actor: actor)
        return Response(status: .ok, headers: headers, body: .buffer(manifest.content))
    }

    /// `PUT /v2/<name>/manifests/<reference>[?tag=<tag>...]`: every `tag` parameter is pointed
    /// at the manifest with it, and named in its own `OCI-Tag` response header.
    /// `isAdmin` lets the push move tags whose immutable-tag rule allows admins to.
    func putManifest(
        _ reference: Reference, in repository: RepositoryName, request: Request, isAdmin: Bool = false, actor: String? = nil
    ) async throws -> Response {
        // Both decided by the request line and headers: answered before the body is read.
        let tags = try Registry.tagParameters(request.query.values("tag"))
        let limit = registry.options.maxManifestBytes
        if let length = request.contentLength, length > limit {
            throw RegistryError(.manifestTooLarge, detail: ["limit": "\(limit)"])
        }
        let body = try await request.body.collect(upTo: limit)
        let pushed = try await registry.putManifest(
            body, contentType: request.headers.first(name: "content-type"), reference: reference, tags: tags, in: repository,
            isAdmin: isAdmin, actor: actor)
        var headers = HTTPHeaders([
            ("Location", "/v2/\(repository)/manifests/\(pushed.digest)"),
            ("Docker-Content-Digest", pushed.digest.description),
        ])
        if let subject = pushed.subject {
            headers.add(name: "OCI-Subject", value: subject.description)
        }
        for tag in pushed.tags {
            headers.add(name: "OCI-Tag", value: tag.value)
        }
        return Response(status: .created, headers: headers)
    }

    /// `DELETE /v2/<name>/manifests/<reference>`.
    func deleteManifest(
        _ reference: Reference, in repository: RepositoryName, isAdmin: Bool = false, actor: String? = nil
    ) async throws -> Response {
        try await registry.deleteManifest(reference, in: repository, isAdmin: isAdmin, actor: actor)
        return Response(status: .accepted)
    }
}
