import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryStorage

extension RegistryResponder {
    /// `POST /v2/<name>/blobs/uploads/`: a cross-repository mount (`mount`, optional `from`),
    /// a single-request upload (`digest` with the body), or a new session, which hashes with
    /// the `digest-algorithm` parameter's algorithm (sha256 without one).
    /// `mayReadFrom` says whether the caller may pull from a mount's source repository (nil: a
    /// mount without `from`, whose source could be any repository); a mount it may not read
    /// falls back to a normal upload, revealing nothing. `actor` is named in a mount's event.
    func startUpload(
        in repository: RepositoryName, request: Request, actor: String? = nil, mayReadFrom: (RepositoryName?) -> Bool
    ) async throws -> Response {
        let algorithm = try request.query["digest-algorithm"].map { value throws(RegistryError) in
            try DigestAlgorithm(validating: value)
        } ?? .sha256
        if let mount = request.query["mount"], let digest = try? Digest(validating: mount) {
            // An unusable `from` or an absent blob falls back to a normal session, per spec.
            let source: RepositoryName?? = request.query["from"].map { RepositoryName($0) }
            let readable = switch source {
                case .some(.some(let name)): mayReadFrom(name)
                case .some(nil): false
                // Without `from`, any repository could be the source: only for callers who may read all.
                case nil: mayReadFrom(nil)
            }
            if readable, try await registry.mountBlob(digest, from: source ?? nil, into: repository, actor: actor) {
                return blobCreated(digest, in: repository)
            }
        } else if let digestString = request.query["digest"] {
            let digest = try Digest(validating: digestString)
            _ = try await registry.uploadMonolithic(
                request.body, digest: digest, in: repository, declaredLength: request.contentLength)
            return blobCreated(digest, in: repository)
        }
        let status = try await registry.startUpload(in: repository, algorithm: algorithm)
        return uploadAccepted(status, in: repository, httpStatus: .accepted)
    }

    /// `GET`/`PATCH`/`PUT`/`DELETE /v2/<name>/blobs/uploads/<session>`.
    func upload(_ session: String, in repository: RepositoryName, request: Request) async throws -> Response {
        guard let id = UploadID(session) else {
            throw RegistryError(.blobUploadUnknown, detail: ["session": session])
        }
        switch request.method {
        case .GET:
            let status = try await registry.uploadStatus(id, in: repository)
            return uploadAccepted(status, in: repository, httpStatus: .noContent)
        case .PATCH:
            let range = try chunkRange(request, id: id, in: repository)
            let status = try await registry.appendChunk(request.body, to: id, in: repository, range: range)
            return uploadAccepted(status, in: repository, httpStatus: .accepted)
        case .PUT:
            let digests = request.query.values("digest")
            guard let digestString = digests.last else {
                throw RegistryError(.digestInvalid, message: "the digest query parameter is required to complete an upload")
            }
            let digest = try Digest(validating: digestString)
            let range = try chunkRange(request, id: id, in: repository)
            _ = try await registry.completeUpload(
                id, in: repository, digest: digest, range: range, finalChunk: request.body,
                declaredLength: request.contentLength)
            return blobCreated(digest, in: repository)
        default:
            try await registry.cancelUpload(id, in: repository)
            return Response(status: .noContent)
        }
    }

    /// The request's `Content-Range: <start>-<end>` (see ``ChunkRange/init(contentRange:)``).
    /// A malformed header, or one whose figures do not fit in 64 bits, is a 416, as the spec asks.
    private func chunkRange(_ request: Request, id: UploadID, in repository: RepositoryName) throws -> ChunkRange? {
        guard let header = request.headers.first(name: "content-range") else { return nil }
        guard let range = ChunkRange(contentRange: header) else {
            throw RegistryError(
                .rangeInvalid, message: "malformed Content-Range \"\(header)\"",
                headers: [("Location", uploadLocation(id, in: repository))])
        }
        return range
    }

    private func blobCreated(_ digest: Digest, in repository: RepositoryName) -> Response {
        Response(status: .created, headers: [
            "Location": "/v2/\(repository)/blobs/\(digest)",
            "Docker-Content-Digest": digest.description,
        ])
    }

    private func uploadAccepted(_ status: UploadStatus, in repository: RepositoryName, httpStatus: HTTPResponseStatus) -> Response {
        Response(status: httpStatus, headers: [
            "Location": uploadLocation(status.id, in: repository),
            "Range": Registry.rangeHeader(length: status.length),
            "Docker-Upload-UUID": status.id.value,
            "Blob-Upload-Session-ID": status.id.value,
        ])
    }

    private func uploadLocation(_ id: UploadID, in repository: RepositoryName) -> String {
        "/v2/\(repository)/blobs/uploads/\(id)"
    }
}
