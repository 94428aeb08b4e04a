import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryStorage

/// What the audit log needs to know of a request that only routing learns: its route and who
/// was authenticated. Filled in by ``RegistryResponder``'s routing, read once it has answered.
final class AuditNote {
    var route: Route?
    /// Nil until authentication succeeded (or when it failed).
    var identity: AccessControl.Identity?
    /// The user named in the OAuth2 form of `POST /token`, whose credentials are in the body
    /// rather than in a header: the one it tried when refused, the refresh token's otherwise.
    var formUser: String?
}

extension RegistryResponder {
    /// Records a finished request in the audit log, if it is one the log keeps (see
    /// ``AuditAction``): a lock and an append, the database write comes later in a batch.
    func recordAudit(_ request: Request, status: HTTPResponseStatus, note: AuditNote, into recorder: AuditRecorder) {
        guard let route = note.route else { return }
        let code = Int(status.code)
        let credentials = request.headers.first(name: "authorization")
        // The OAuth2 form carries its credentials in the body.
        let presented = credentials != nil || (route == .token && request.method == .POST)
        guard let (action, repository, reference) = Self.auditedAction(
            route, method: request.method, status: code, query: request.query,
            authenticated: note.identity != nil, presentedCredentials: presented)
        else { return }
        // A refused login names the user it tried.
        let basicUser = credentials.flatMap { AccessControl.basicCredentials($0)?.0 }.flatMap { $0.isEmpty ? nil : $0 }
        let user = note.identity?.name ?? note.formUser ?? basicUser
        recorder.record(AuditRecord(
            time: Date(), user: user, isRobot: RobotAccount.isRobotName(user), address: request.remoteAddress ?? "-",
            userAgent: request.headers.first(name: "user-agent") ?? "", action: action, repository: repository,
            reference: reference, status: code))
    }

    /// The action, repository and reference a request is recorded as; nil when it is not
    /// recorded. Anonymous requests answered 401 are the first step of a login (the challenge),
    /// not recorded; any other refusal is.
    static func auditedAction(
        _ route: Route, method: HTTPMethod, status: Int, query: QueryParameters, authenticated: Bool, presentedCredentials: Bool
    ) -> (String, String?, String?)? {
        let denied = status == 401 || status == 403
        if denied && !presentedCredentials && status == 401 { return nil }
        let repositoryAndReference: (String?, String?) = switch route {
            case .blob(let name, let digest), .referrers(let name, let digest): (name, digest)
            case .manifest(let name, let reference): (name, reference)
            case .startUpload(let name), .upload(let name, _): (name, query["digest"] ?? query["mount"])
            case .tags(let name), .adminRepository(let name): (name, nil)
            default: (nil, nil)
        }
        let (repository, reference) = repositoryAndReference
        // Credentials refused (or their check throttled): a failed login, whatever was asked.
        if presentedCredentials && !authenticated && (status == 401 || status == 429) {
            return (AuditAction.login, repository, reference)
        }
        let action: String?
        switch route {
        case .base, .token:
            action = presentedCredentials ? AuditAction.login : nil
        case .blob:
            action = switch method {
                case .GET: AuditAction.pull
                case .DELETE: AuditAction.delete
                default: denied ? AuditAction.pull : nil
            }
        case .manifest:
            action = switch method {
                case .GET: AuditAction.pull
                case .PUT: AuditAction.push
                case .DELETE: AuditAction.delete
                default: denied ? AuditAction.pull : nil
            }
        case .startUpload, .upload:
            // A session started or a chunk taken (202), a status asked, a session cancelled:
            // steps of a push, recorded when it lands or fails.
            let step = status == 202 || method == .GET || (method == .DELETE && status < 300)
            action = step && !denied ? nil : AuditAction.push
        case .collectGarbage:
            action = AuditAction.garbageCollection
        case .adminRepository:
            action = AuditAction.deleteRepository
        case .tags, .referrers:
            action = denied ? AuditAction.pull : nil
        default:
            action = nil
        }
        return action.map { ($0, repository, reference) }
    }

    /// `GET /v2/_admin/audit?since=&user=&repository=&action=&n=&last=`: audit records, oldest
    /// first, `n` at a time (default 100, at most 1000), with a `Link` to the next page as for
    /// tags. `since` is a duration back from now (`24h`) or an RFC 3339 time; `last` the id of
    /// the previous page's last record.
    func auditLog(_ request: Request) async throws -> Response {
        guard let store = audit?.store else {
            throw RegistryError(.unsupported, message: "the audit log is not enabled on this registry")
        }
        let query = request.query
        var filter = AuditQuery(user: query["user"], repository: query["repository"], action: query["action"])
        if let since = query["since"] {
            guard let date = AuditTime.since(since) else {
                throw RegistryError(.parameterInvalid, message: "since must be a duration such as 24h or an RFC 3339 time", detail: ["since": since])
            }
            filter.since = date
        }
        if let n = query["n"] {
            guard let limit = Int(n), limit > 0 else {
                throw RegistryError(.paginationNumberInvalid, detail: ["n": n])
            }
            filter.limit = min(limit, 1000)
        }
        if let last = query["last"] {
            guard let id = Int64(last) else { throw RegistryError(.paginationNumberInvalid, message: "last must be a record id", detail: ["last": last]) }
            filter.afterID = id
        }
        let records = try await store.auditRecords(filter)
        var headers: HTTPHeaders = [:]
        if records.count == filter.limit, let lastID = records.last?.id {
            var parameters = query.pairs.filter { $0.name != "last" && $0.name != "n" }.map { ($0.name, $0.value) }
            parameters.append(("n", "\(filter.limit)"))
            parameters.append(("last", "\(lastID)"))
            let encoded = parameters.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }.joined(separator: "&")
            headers.add(name: "Link", value: "</v2/_admin/audit?\(encoded)>; rel=\"next\"")
        }
        return try JSONBody.response(AuditPage(records: records.map(AuditEntryJSON.init)), headers: headers)
    }

    private struct AuditPage: Encodable {
        var records: [AuditEntryJSON]
    }

}
