import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryStorage

/// Signing in to the UI (a form, then a session cookie), signing out, and deleting a tag or a
/// manifest (a confirmation page, then a form carrying a CSRF token).
extension RegistryResponder {
    /// The largest form body the UI reads.
    static let formLimit = 16 * 1024

    /// A page framed with who is visiting.
    func page(title: String, identity: AccessControl.Identity, _ body: (inout HTML) -> Void) -> Response {
        let visitor: UILayout.Visitor
        if let name = identity.name {
            visitor = .signedIn(name, csrf: access.offersUISignIn ? sessions.csrfToken(for: name) : nil)
        } else {
            visitor = access.offersUISignIn ? .canSignIn : .none
        }
        return UILayout.page(title: title, visitor: visitor, body)
    }

    /// The user of a valid session cookie in `request`.
    func uiSessionUser(_ request: Request) -> String? {
        for header in request.headers[canonicalForm: "cookie"] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == UISessions.cookieName {
                    return sessions.user(fromCookie: String(parts[1]), credential: access.sessionCredential(of:))
                }
            }
        }
        return nil
    }

    private func cookie(_ value: String, maxAge: Int64) -> String {
        "\(UISessions.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
    }

    /// A local path to go back to after signing in; anything else is `/`: another site
    /// (`//host`, `/\\host`), and control characters, which browsers drop from URLs (so that
    /// `/<TAB>/host` is `//host`) and which must never reach a `Location` header.
    static func localPath(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
              !next.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        else { return "/" }
        return next
    }

    /// Records a sign-in or a delete made through the UI in the audit log (the request's own
    /// record, made for API routes, does not know what a form asked for).
    private func recordUIAudit(_ request: Request, user: String?, action: String, repository: String? = nil, reference: String? = nil, status: Int) {
        audit?.record(AuditRecord(
            time: Date(), user: user, isRobot: RobotAccount.isRobotName(user), address: request.remoteAddress ?? "-",
            userAgent: request.headers.first(name: "user-agent") ?? "", action: action, repository: repository,
            reference: reference, status: status))
    }

    private func form(_ request: Request) async throws -> QueryParameters {
        do {
            return QueryParameters(Substring(String(buffer: try await request.body.collect(upTo: Self.formLimit))))
        } catch BodyError.tooLarge {
            throw RegistryError(.sizeInvalid, message: "the form is larger than \(Self.formLimit) bytes")
        }
    }

    // MARK: Sign in and out

    func loginPage(_ request: Request) async throws -> Response {
        try allow(request.method, [.GET, .HEAD, .POST])
        guard access.offersUISignIn else { return UILayout.redirect(to: "/") }
        var failure: String?
        var next = Self.localPath(request.query["next"])
        var user = ""
        if request.method == .POST {
            let form = try await form(request)
            next = Self.localPath(form["next"])
            user = form["user"] ?? ""
            do {
                let name = try await access.verifyPassword(user: user, password: form["password"] ?? "", address: request.remoteAddress ?? "?")
                guard !RobotAccount.isRobotName(name) else { throw RegistryError(.denied, message: "robot accounts cannot sign in to the UI") }
                recordUIAudit(request, user: name, action: AuditAction.login, status: 303)
                guard let credential = access.sessionCredential(of: name) else {
                    throw RegistryError(.unauthorized, message: "\(name) has no htpasswd entry")
                }
                return UILayout.redirect(
                    to: next, cookie: cookie(sessions.cookie(for: name, credential: credential), maxAge: sessions.lifetime.components.seconds))
            } catch let error as RegistryError {
                failure = error.code == .tooManyRequests ? "Too many attempts: wait a moment." : "Wrong user name or password."
                recordUIAudit(request, user: user.isEmpty ? nil : user, action: AuditAction.login, status: error.status)
            }
        }
        var response = UILayout.page(title: "Sign in", visitor: .none) { html in
            html.raw("<h1>Sign in</h1>")
            if let failure { html.element("p", failure, attributes: "class=\"error\"") }
            html.raw("<form class=\"login\" method=\"post\" action=\"/ui/login\"><input type=\"hidden\" name=\"next\" value=\"")
            html.text(next)
            html.raw("\"><label for=\"user\">user</label><input id=\"user\" name=\"user\" autocomplete=\"username\" value=\"")
            html.text(user)
            html.raw("\" required><label for=\"password\">password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required><button>Sign in</button></form>")
        }
        if failure != nil { response.status = .unauthorized }
        return response
    }

    func logout(_ request: Request, identity: AccessControl.Identity) throws -> Response {
        try allow(request.method, [.POST])
        return UILayout.redirect(to: "/", cookie: cookie("", maxAge: 0))
    }

    // MARK: Delete

    /// `GET`: what would be deleted, and a form to confirm; `POST` (with the form's CSRF token):
    /// deletes the tag, or the manifest with its tags, with the API's rules (rights, immutable
    /// tags, deletes enabled).
    func deletePage(_ request: Request, identity: AccessControl.Identity) async throws -> Response {
        let parameters = request.method == .POST ? try await form(request) : request.query
        let repository = try RepositoryName(validating: parameters["repository"] ?? "")
        try access.authorize([.delete], on: repository, for: identity)
        let reference: Reference
        if let tag = parameters["tag"] {
            guard let parsed = Tag(tag) else { throw RegistryError(.tagInvalid, detail: ["tag": tag]) }
            reference = .tag(parsed)
        } else {
            reference = .digest(try Digest(validating: parameters["digest"] ?? ""))
        }
        let back = UIPath.repository(repository)
        if request.method == .POST {
            guard sessions.isValidCSRFToken(parameters["csrf"] ?? "", for: identity.name) else {
                throw RegistryError(.denied, message: "the form's token is missing or wrong: open the delete page again")
            }
            do {
                try await registry.deleteManifest(reference, in: repository, isAdmin: access.isAdmin(identity), actor: identity.name)
            } catch let error as RegistryError {
                recordUIAudit(request, user: identity.name, action: AuditAction.delete, repository: repository.value,
                              reference: reference.description, status: error.status)
                throw error
            }
            recordUIAudit(request, user: identity.name, action: AuditAction.delete, repository: repository.value,
                          reference: reference.description, status: 303)
            return UILayout.redirect(to: back)
        }
        let what: String = switch reference {
            case .tag(let tag): "the tag \(repository.value):\(tag.value) (the image stays while other tags or digests name it)"
            case .digest(let digest): "the manifest \(repository.value)@\(digest) and every tag that names it"
        }
        return page(title: "Delete", identity: identity) { html in
            html.raw("<h1>Delete?</h1><p>")
            html.text("This deletes \(what). Garbage collection then reclaims the layers nothing else uses.")
            html.raw("</p><form class=\"confirm\" method=\"post\" action=\"/ui/delete\"><input type=\"hidden\" name=\"csrf\" value=\"")
            html.text(sessions.csrfToken(for: identity.name))
            html.raw("\"><input type=\"hidden\" name=\"repository\" value=\"")
            html.text(repository.value)
            switch reference {
            case .tag(let tag):
                html.raw("\"><input type=\"hidden\" name=\"tag\" value=\"")
                html.text(tag.value)
            case .digest(let digest):
                html.raw("\"><input type=\"hidden\" name=\"digest\" value=\"")
                html.text(digest.description)
            }
            html.raw("\"><button>Delete</button> ")
            html.link("cancel", to: back)
            html.raw("</form>")
        }
    }
}
