import NIOCore
import NIOSSL
import X509

/// The identity a client proved with a TLS certificate (validated against the configured CA).
enum ClientCertificate {
    /// The common name of the peer certificate's subject, if the client presented one.
    static func commonName(on channel: any Channel) async -> String? {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get(),
              let parsed = try? Certificate(derEncoded: certificate.toDERBytes())
        else { return nil }
        for relativeName in parsed.subject {
            for attribute in relativeName where attribute.type == .RDNAttributeType.commonName {
                return String(describing: attribute.value)
            }
        }
        return nil
    }
}
