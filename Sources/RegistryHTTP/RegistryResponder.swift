import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel

/// Serves the distribution-spec API: routes each request to its handler and turns every
/// failure into the spec's error response.
public struct RegistryResponder: HTTPResponder {
    let registry: Registry
    let logger: Logger

    public init(registry: Registry, logger: Logger) {
        self.registry = registry
        self.logger = logger
    }

    public func respond(to request: Request) async -> Response {
        do {
            return try await route(request)
        } catch let error as RegistryError {
            return ErrorResponse.make(error, for: request.method)
        } catch BodyError.tooLarge {
            return ErrorResponse.make(RegistryError(.manifestTooLarge), for: request.method)
        } catch BodyError.clientDisconnected {
            return ErrorResponse.make(RegistryError(.blobUploadInvalid, message: "the request body ended early"), for: request.method)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return ErrorResponse.make(RegistryError(.internalError), for: request.method)
        }
    }

    private func route(_ request: Request) async throws -> Response {
        guard let route = Route(path: request.path) else {
            throw RegistryError(.notFound, detail: ["path": request.path])
        }
        let method = request.method
        switch route {
        case .base:
            try allow(method, [.GET, .HEAD])
            return try JSONBody.response([String: String]())
        case .health:
            try allow(method, [.GET, .HEAD])
            return Response(status: .ok, headers: ["Content-Type": "text/plain"], body: .buffer(ByteBuffer(string: "ok\n")))
        case .ready:
            try allow(method, [.GET, .HEAD])
            return await readiness()
        case .catalog:
            try allow(method, [.GET])
            return try await catalog(request)
        case .blob(let name, let digest):
            try allow(method, [.GET, .HEAD, .DELETE])
            let repository = try RepositoryName(validating: name)
            let digest = try Digest(validating: digest)
            return method == .DELETE
                ? try await deleteBlob(digest, in: repository)
                : try await getBlob(digest, in: repository, request: request)
        case .startUpload(let name):
            try allow(method, [.POST])
            return try await startUpload(in: try RepositoryName(validating: name), request: request)
        case .upload(let name, let session):
            try allow(method, [.GET, .PATCH, .PUT, .DELETE])
            return try await upload(session, in: try RepositoryName(validating: name), request: request)
        case .manifest(let name, let reference):
            try allow(method, [.GET, .HEAD, .PUT, .DELETE])
            let repository = try RepositoryName(validating: name)
            let reference = try Reference(parsing: reference)
            switch method {
            case .PUT: return try await putManifest(reference, in: repository, request: request)
            case .DELETE: return try await deleteManifest(reference, in: repository)
            default: return try await getManifest(reference, in: repository, request: request)
            }
        case .tags(let name):
            try allow(method, [.GET])
            return try await tags(in: try RepositoryName(validating: name), request: request)
        case .referrers(let name, let digest):
            try allow(method, [.GET])
            return try await referrers(of: try Digest(validating: digest), in: try RepositoryName(validating: name), request: request)
        }
    }

    private func allow(_ method: HTTPMethod, _ allowed: [HTTPMethod]) throws(RegistryError) {
        guard allowed.contains(method) else {
            throw RegistryError(
                .unsupported, message: "method \(method.rawValue) is not allowed here",
                headers: [("Allow", allowed.map(\.rawValue).joined(separator: ", "))])
        }
    }

    private func readiness() async -> Response {
        do {
            try await registry.checkReady()
            return Response(status: .ok, headers: ["Content-Type": "text/plain"], body: .buffer(ByteBuffer(string: "ready\n")))
        } catch {
            logger.warning("not ready", metadata: ["error": "\(error)"])
            return ErrorResponse.make(RegistryError(.unavailable, message: "storage not ready: \(error)"), for: .GET)
        }
    }
}
