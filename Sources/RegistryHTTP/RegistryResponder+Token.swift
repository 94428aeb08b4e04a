import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel

extension RegistryResponder {
    private struct TokenResponse: Encodable {
        let token: String
        let access_token: String
        let expires_in: Int
        let issued_at: String
        let refresh_token: String?
    }

    /// The built-in token endpoint of the Docker registry token flow:
    /// `GET /token?service=&scope=...[&offline_token=true]` with Basic credentials or anonymous,
    /// and the OAuth2 form `POST /token` with `grant_type=password` or `refresh_token`.
    /// The token grants, per requested scope, the actions asked for that the policy allows.
    /// The form's user goes to `note`, for the audit log.
    func issueToken(_ request: Request, note: AuditNote) async throws -> Response {
        guard let tokens = access.tokens else {
            throw RegistryError(.notFound, message: "this registry does not issue tokens")
        }
        let address = request.remoteAddress ?? "?"
        let parameters: QueryParameters
        var subject: String?
        var wantsRefreshToken = false
        if request.method == .POST {
            let body = try await request.body.collect(upTo: 64 * 1024)
            parameters = QueryParameters(Substring(String(buffer: body)))
            switch parameters["grant_type"] {
            case "password":
                note.formUser = parameters["username"].flatMap { $0.isEmpty ? nil : $0 }
                subject = try await access.verifyPassword(
                    user: parameters["username"] ?? "", password: parameters["password"] ?? "", address: address)
            case "refresh_token":
                guard let user = await tokens.verifyRefreshToken(parameters["refresh_token"] ?? "") else {
                    throw RegistryError(.unauthorized, message: "invalid or expired refresh token")
                }
                subject = user
                note.formUser = user
            default:
                throw RegistryError(.unsupported, message: "unsupported grant_type; use password or refresh_token")
            }
            wantsRefreshToken = parameters["access_type"] == "offline"
        } else {
            parameters = request.query
            if let authorization = request.headers.first(name: "authorization") {
                subject = try await access.basicUser(from: authorization, address: address)
            } else {
                subject = request.clientCertificateName
            }
            wantsRefreshToken = parameters["offline_token"] == "true"
        }

        // A robot gets only its own rights, and only while enabled (a refresh token outlives
        // neither its removal nor its disabling).
        let robot = try await access.activeRobot(subject: subject)
        let requested = parameters.values("scope").flatMap { $0.split(separator: " ") }.compactMap { ResourceAccess(scope: String($0)) }
        let granted = requested.compactMap { scope -> ResourceAccess? in
            switch scope.type {
            case "repository":
                guard let repository = RepositoryName(scope.name) else { return nil }
                let allowed = robot?.allowedActions(on: repository.value) ?? access.policy.allowedActions(for: subject, on: repository.value)
                let actions = scope.actions.compactMap(Action.init(rawValue:)).filter(allowed.contains)
                return actions.isEmpty ? nil : ResourceAccess(type: "repository", name: scope.name, actions: actions.map(\.rawValue))
            case "registry" where scope.name == "catalog" && subject != nil && robot == nil:
                return ResourceAccess(type: "registry", name: "catalog", actions: ["*"])
            case "registry" where scope.name == "admin" && robot == nil && access.policy.isAdmin(subject):
                return ResourceAccess(type: "registry", name: "admin", actions: ["*"])
            default:
                return nil
            }
        }
        let issued = try await tokens.issueAccessToken(subject: subject, access: granted)
        var refresh: String?
        if wantsRefreshToken, let subject {
            refresh = try await tokens.issueRefreshToken(subject: subject)
        }
        let formatter = ISO8601DateFormatter()
        return try JSONBody.response(TokenResponse(
            token: issued.token, access_token: issued.token, expires_in: issued.expiresIn,
            issued_at: formatter.string(from: issued.issuedAt), refresh_token: refresh))
    }
}
