import Foundation
import NIOCore
import NIOHTTP1

/// The frame of every UI page, and how a page becomes a response.
enum UILayout {
    /// No script may run (there is none), frames are refused, styles come from this origin only.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
    ]

    /// Who the header names: a signed-in user (with a sign-out button when signed in with the
    /// form), or an invitation to sign in.
    enum Visitor {
        case none
        case signedIn(String, csrf: String?)
        case canSignIn
    }

    static func page(title: String, visitor: Visitor, _ body: (inout HTML) -> Void) -> Response {
        var html = HTML()
        html.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
        html.text(title)
        html.raw(" · registry</title><link rel=\"stylesheet\" href=\"/ui/style.css\"></head><body><header>")
        html.link("registry", to: "/")
        html.raw("<span class=\"muted\">")
        switch visitor {
        case .none: break
        case .signedIn(let user, let csrf):
            html.text("signed in as \(user)")
            if let csrf {
                html.raw(" <form class=\"inline\" method=\"post\" action=\"/ui/logout\"><input type=\"hidden\" name=\"csrf\" value=\"")
                html.text(csrf)
                html.raw("\"><button>sign out</button></form>")
            }
        case .canSignIn:
            html.link("sign in", to: "/ui/login")
        }
        html.raw("</span></header><main>")
        body(&html)
        html.raw("</main></body></html>")
        var headers = HTTPHeaders(securityHeaders)
        headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
        return Response(status: .ok, headers: headers, body: .buffer(ByteBuffer(string: html.content)))
    }

    /// `303 See Other` to a page of this site.
    static func redirect(to location: String, cookie: String? = nil) -> Response {
        var headers = HTTPHeaders(securityHeaders)
        headers.add(name: "Location", value: location)
        if let cookie { headers.add(name: "Set-Cookie", value: cookie) }
        return Response(status: .seeOther, headers: headers)
    }

    static func stylesheet() -> Response {
        var headers = HTTPHeaders(securityHeaders)
        headers.replaceOrAdd(name: "Content-Type", value: "text/css; charset=utf-8")
        headers.replaceOrAdd(name: "Cache-Control", value: "max-age=300")
        return Response(status: .ok, headers: headers, body: .buffer(ByteBuffer(string: UIStyle.css)))
    }

    /// `2025-05-04 10:21:07 UTC`, or `never`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "never" }
        return date.formatted(.iso8601).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }
}
