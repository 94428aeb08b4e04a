/// Turns a request into a response. Implementations map every failure to a response
/// themselves; the connection only transports.
public protocol HTTPResponder: Sendable {
    func respond(to request: Request) async -> Response
}
