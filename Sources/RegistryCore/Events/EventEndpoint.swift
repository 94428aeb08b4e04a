import Foundation

/// An HTTP(S) receiver of event notifications, as configured.
public struct EventEndpoint: Sendable, Equatable {
    /// Names the endpoint's delivery cursor in the outbox: renaming it starts delivery over
    /// from the oldest event still kept.
    public var name: String
    public var url: String
    public var filter: EventFilter
    /// Sent with every delivery (e.g. `Authorization`).
    public var headers: [String: String]
    /// Key of the `X-Registry-Signature` HMAC-SHA256 over the body; nil sends no signature.
    public var secret: [UInt8]?
    /// How long one delivery attempt may take before it counts as failed.
    public var timeout: Duration

    public init(
        name: String, url: String, filter: EventFilter = EventFilter(), headers: [String: String] = [:], secret: [UInt8]? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.name = name
        self.url = url
        self.filter = filter
        self.headers = headers
        self.secret = secret
        self.timeout = timeout
    }
}
