/// Where the server's certificate and key are, and whether clients must present certificates.
public struct TLSSettings: Sendable, Equatable {
    /// PEM file with the server certificate, followed by any intermediates.
    public var certificatePath: String
    /// PEM file with the certificate's private key.
    public var privateKeyPath: String
    /// PEM bundle of CAs whose client certificates are accepted. With it, a client that presents
    /// a certificate must present a valid one, and its subject's common name becomes its user.
    public var clientCAPath: String?

    public init(certificatePath: String, privateKeyPath: String, clientCAPath: String? = nil) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
    }
}
