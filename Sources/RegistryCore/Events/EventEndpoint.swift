import Foundation
import NIOSSL

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
    /// CA certificates trusted for an `https` URL besides the system's (a receiver whose
    /// certificate a private CA signed).
    public var trustedCertificates: [NIOSSLCertificate]

    public init(
        name: String, url: String, filter: EventFilter = EventFilter(), headers: [String: String] = [:], secret: [UInt8]? = nil,
        timeout: Duration = .seconds(10), trustedCertificates: [NIOSSLCertificate] = []
    ) {
        self.name = name
        self.url = url
        self.filter = filter
        self.headers = headers
        self.secret = secret
        self.timeout = timeout
        self.trustedCertificates = trustedCertificates
    }

    /// The TLS settings of this endpoint's requests; nil for the client's own (system CAs).
    var tlsConfiguration: TLSConfiguration? {
        guard !trustedCertificates.isEmpty else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.certificates(trustedCertificates)]
        return tls
    }
}
