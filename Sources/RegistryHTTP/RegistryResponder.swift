import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryStorage

/// Serves the distribution-spec API: routes each request to its handler and turns every
/// failure into the spec's error response.
public struct RegistryResponder: HTTPResponder {
    let registry: Registry
    /// Logins and per-repository rights; ``AccessControl/allowAll`` where none are configured.
    /// Every check goes through it, so an unconfigured registry is open by an explicit policy,
    /// never by a skipped check.
    let access: AccessControl
    let logger: Logger
    /// Runs the admin endpoint's collections; nil where the registry cannot write.
    let garbageCollection: GarbageCollectionService?
    /// Request rate limits, asked right after authentication; nil where none are configured.
    let rateLimiter: RateLimiter?
    /// The audit log's recorder; nil where the audit log is off.
    let audit: AuditRecorder?
    /// Whether `/` and `/ui/` serve the web UI (`ui.enabled`).
    let ui: Bool
    /// The UI's session cookies and form tokens.
    let sessions: UISessions
    /// Whether cookies get `Secure` (the server speaks TLS).
    let secureCookies: Bool

    public init(
        registry: Registry, access: AccessControl, garbageCollection: GarbageCollectionService? = nil, logger: Logger,
        rateLimiter: RateLimiter? = nil, audit: AuditRecorder? = nil, ui: Bool = true, sessions: UISessions = UISessions(),
        secureCookies: Bool = false
    ) {
        self.ui = ui
        self.sessions = sessions
        self.secureCookies = secureCookies
        self.rateLimiter = rateLimiter
        self.audit = audit
        self.registry = registry
        self.access = access
        self.garbageCollection = garbageCollection
        self.logger = logger
    }

    public func respond(to request: Request) async -> Response {
        let note = AuditNote()
        var response = await answer(request, note)
        if let audit { recordAudit(request, status: response.status, note: note, into: audit) }
        if let namespace = request.query["ns"], registry.proxy?.scopes(namespace: namespace) == true {
            // The spec's echo of an `ns` the pull-through cache used to pick the upstream.
            response.headers.add(name: "OCI-Namespace", value: namespace)
        }
        return response
    }

    private func answer(_ request: Request, _ note: AuditNote) async -> Response {
        do {
            return try await route(request, note)
        } catch let error as RegistryError {
            return ErrorResponse.make(error, for: request.method)
        } catch BodyError.tooLarge {
            return ErrorResponse.make(RegistryError(.manifestTooLarge), for: request.method)
        } catch BodyError.clientDisconnected {
            return ErrorResponse.make(RegistryError(.blobUploadInvalid, message: "the request body ended early"), for: request.method)
        } catch let error where isStorageFull(error) {
            // `507 STORAGE_FULL`: see ``ErrorCode/storageFull`` for why this status.
            logger.error("storage full", metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.path)", "error": "\(error)",
            ])
            return ErrorResponse.make(RegistryError(.storageFull), for: request.method)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            return ErrorResponse.make(RegistryError(.internalError), for: request.method)
        }
    }

    private func route(_ request: Request, _ note: AuditNote) async throws -> Response {
        guard let route = Route(path: request.path) else {
            throw RegistryError(.notFound, detail: ["path": request.path])
        }
        note.route = route
        let method = request.method
        let identity = try await authenticate(request, route: route)
        note.identity = identity
        if let rateLimiter, let requestClass = route.requestClass(for: method) {
            try rateLimiter.admit(
                address: request.remoteAddress, user: identity.name, as: requestClass, isAdmin: access.isAdmin(identity))
        }
        switch route {
        case .base:
            try allow(method, [.GET, .HEAD])
            try access.requireSignedIn(identity)
            return try JSONBody.response([String: String]())
        case .health:
            try allow(method, [.GET, .HEAD])
            return Response(status: .ok, headers: ["Content-Type": "text/plain"], body: .buffer(ByteBuffer(string: "ok\n")))
        case .ready:
            try allow(method, [.GET, .HEAD])
            return await readiness()
        case .token:
            try allow(method, [.GET, .POST])
            return try await issueToken(request, note: note)
        case .catalog:
            try allow(method, [.GET])
            try access.requireCatalogAccess(identity)
            return try await catalog(request, identity: identity)
        case .blob(let name, let digest):
            try allow(method, [.GET, .HEAD, .DELETE])
            let repository = try repositoryName(name, request)
            try authorize(method == .DELETE ? [.delete] : [.pull], on: repository, for: identity, request)
            let digest = try Digest(validating: digest)
            return method == .DELETE
                ? try await deleteBlob(digest, in: repository)
                : try await getBlob(digest, in: repository, request: request)
        case .startUpload(let name):
            try allow(method, [.POST])
            let repository = try repositoryName(name, request)
            try authorize([.pull, .push], on: repository, for: identity, request)
            return try await startUpload(in: repository, request: request, actor: identity.name) { source in
                guard let source else { return access.mayMountWithoutSource(identity) }
                return access.permits(.pull, on: source.value, for: identity)
            }
        case .upload(let name, let session):
            try allow(method, [.GET, .PATCH, .PUT, .DELETE])
            let repository = try repositoryName(name, request)
            // Cancelling is part of pushing: it needs push, not delete.
            try authorize([.pull, .push], on: repository, for: identity, request)
            return try await upload(session, in: repository, request: request)
        case .manifest(let name, let reference):
            try allow(method, [.GET, .HEAD, .PUT, .DELETE])
            let repository = try repositoryName(name, request)
            let needed: Set<Action> = switch method {
                case .PUT: [.pull, .push]
                case .DELETE: [.delete]
                default: [.pull]
            }
            try authorize(needed, on: repository, for: identity, request)
            let reference = try manifestReference(reference, for: method)
            switch method {
            case .PUT:
                return try await putManifest(
                    reference, in: repository, request: request, isAdmin: access.isAdmin(identity), actor: identity.name)
            case .DELETE:
                return try await deleteManifest(reference, in: repository, isAdmin: access.isAdmin(identity), actor: identity.name)
            default: return try await getManifest(reference, in: repository, request: request, actor: identity.name)
            }
        case .tags(let name):
            try allow(method, [.GET])
            let repository = try repositoryName(name, request)
            try authorize([.pull], on: repository, for: identity, request)
            return try await tags(in: repository, request: request)
        case .collectGarbage:
            try allow(method, [.POST])
            try requireAdmin(identity, request)
            return try await collectGarbage(request)
        case .audit:
            try allow(method, [.GET])
            try requireAdmin(identity, request)
            return try await auditLog(request)
        case .adminRepository(let name):
            try allow(method, [.DELETE])
            let repository = try repositoryName(name, request)
            try requireAdmin(identity, request)
            return try await deleteRepository(repository, isAdmin: access.isAdmin(identity), actor: identity.name)
        case .referrers(let name, let digest):
            try allow(method, [.GET])
            let repository = try repositoryName(name, request)
            try authorize([.pull], on: repository, for: identity, request)
            return try await referrers(of: try Digest(validating: digest), in: repository, request: request)
        case .layer(let digest):
            try allow(method, [.GET])
            try access.requireSignedIn(identity)
            return try await layerDocument(try Digest(validating: digest), for: identity)
        case .ui(let page):
            guard ui else { throw RegistryError(.notFound, detail: ["path": request.path]) }
            return try await uiPage(page, request: request, identity: identity)
        }
    }

    /// The repository a request's path names. In a pull-through cache's namespace that is the
    /// local name the upstream's repository is cached under (`alpine` -> `hub/library/alpine`,
    /// containerd's `?ns=docker.io`).
    private func repositoryName(_ name: String, _ request: Request) throws(RegistryError) -> RepositoryName {
        let local = registry.proxy?.localName(for: name, namespace: request.query["ns"]) ?? name
        return try RepositoryName(validating: local)
    }

    /// The reference of a manifest request. One that is neither a valid tag nor a digest of a
    /// supported algorithm can name no stored manifest: reading or deleting by it is
    /// `404 MANIFEST_UNKNOWN`, as for any unknown manifest (what the OCI conformance suites and
    /// clients expect); only a `PUT`, which tries to create it, gets the `400` that says why.
    private func manifestReference(_ string: String, for method: HTTPMethod) throws(RegistryError) -> Reference {
        do {
            return try Reference(parsing: string)
        } catch where method != .PUT {
            throw RegistryError(
                .manifestUnknown, message: "no manifest has this reference: \(error.message)", detail: ["reference": string])
        }
    }

    /// The caller's identity; the health and token endpoints need none (the token endpoint
    /// checks credentials itself).
    private func authenticate(_ request: Request, route: Route) async throws(RegistryError) -> AccessControl.Identity {
        guard route != .health, route != .ready, route != .token else { return .anonymous }
        let authorization = request.headers.first(name: "authorization")
        // A browser signed in to the UI sends its session cookie, not credentials.
        let sessionUser = if case .ui = route, authorization == nil { uiSessionUser(request) } else { String?.none }
        let identity = try await access.authenticate(
            authorization: authorization,
            certificateName: request.clientCertificateName,
            address: request.remoteAddress ?? "?")
        if case .ui = route { return access.uiVisitor(sessionUser: sessionUser, authenticated: identity) }
        return identity
    }

    private func authorize(
        _ actions: Set<Action>, on repository: RepositoryName, for identity: AccessControl.Identity, _ request: Request
    ) throws(RegistryError) {
        do {
            try access.authorize(actions, on: repository, for: identity)
        } catch {
            logger.notice("access denied", metadata: [
                "user": "\(identity.name ?? "-")", "repository": "\(repository)",
                "actions": "\(actions.sorted().map(\.rawValue).joined(separator: ","))",
                "method": "\(request.method.rawValue)", "remote": "\(request.remoteAddress ?? "-")",
            ])
            throw error
        }
    }

    private func requireAdmin(_ identity: AccessControl.Identity, _ request: Request) throws(RegistryError) {
        do {
            try access.requireAdmin(identity)
        } catch {
            logger.notice("admin access denied", metadata: [
                "user": "\(identity.name ?? "-")", "path": "\(request.path)", "remote": "\(request.remoteAddress ?? "-")",
            ])
            throw error
        }
    }

    func allow(_ method: HTTPMethod, _ allowed: [HTTPMethod]) throws(RegistryError) {
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
        } catch let error as FreeSpaceBelowFloor {
            // Logged by the registry when free space crosses the floor, not at every probe.
            return ErrorResponse.make(RegistryError(.unavailable, message: "not ready: \(error)"), for: .GET)
        } catch {
            logger.warning("not ready", metadata: ["error": "\(error)"])
            return ErrorResponse.make(RegistryError(.unavailable, message: "storage not ready: \(error)"), for: .GET)
        }
    }
}
