import NIOConcurrencyHelpers
import NIOSSL

/// The server's TLS context, replaceable at run time: `reload()` re-reads the certificate and
/// key files, and connections accepted afterwards use them while established ones keep theirs.
public final class TLSContextStore: Sendable {
    public let settings: TLSSettings
    private let context: NIOLockedValueBox<NIOSSLContext>

    public init(settings: TLSSettings) throws {
        self.settings = settings
        context = NIOLockedValueBox(try Self.makeContext(settings))
    }

    var current: NIOSSLContext { context.withLockedValue { $0 } }

    /// Re-reads the files; on failure the previous context stays in use.
    public func reload() throws {
        let fresh = try Self.makeContext(settings)
        context.withLockedValue { $0 = fresh }
    }

    private static func makeContext(_ settings: TLSSettings) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(settings.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: settings.privateKeyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["h2", "http/1.1"]
        if let clientCA = settings.clientCAPath {
            configuration.trustRoots = .file(clientCA)
            configuration.certificateVerification = .optionalVerification
            configuration.sendCANameList = true
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
