import Crypto
import Foundation
import SwiftASN1
import X509

/// `registry cert`: a private CA and a server certificate signed by it, for quick TLS setups.
/// Keys are P-256; the CA lives ten years, the server certificate two (clients such as docker
/// and podman trust the CA file, so renewing the server certificate needs no client change).
public struct CertificateAuthority {
    public struct Files: Equatable, Sendable {
        public let caCertificate: String
        public let serverCertificate: String
        public let serverKey: String
        public let caKey: String
        /// Client name -> (certificate, key), for mutual TLS.
        public let clients: [String: ClientFiles]
    }

    public struct ClientFiles: Equatable, Sendable {
        public let certificate: String
        public let key: String
    }

    /// Writes `ca.crt`, `ca.key`, `server.crt` and `server.key` into `directory` for `hosts`
    /// (DNS names or IP addresses, all in the subject alternative names), and `<name>.crt` /
    /// `<name>.key` client certificates whose common name is `name`. Keys are mode 0600.
    public static func issue(hosts: [String], clients: [String] = [], into directory: String, now: Date = Date()) throws -> Files {
        precondition(!hosts.isEmpty, "at least one host name")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        let caKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let caName = try DistinguishedName {
            OrganizationName("swift-oci-registry")
            CommonName("registry private CA")
        }
        let caCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: caKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caKey.publicKey)
            },
            issuerPrivateKey: caKey)

        let serverKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let serverCertificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: serverKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(2 * 365 * 86400),
            issuer: caName, subject: try DistinguishedName { CommonName(hosts[0]) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(hosts.map(generalName))
                AuthorityKeyIdentifier(keyIdentifier: try SubjectKeyIdentifier(hash: caKey.publicKey).keyIdentifier)
            },
            issuerPrivateKey: caKey)

        var clientFiles: [String: ClientFiles] = [:]
        for name in clients {
            let clientKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
            let clientCertificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: clientKey.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(2 * 365 * 86400),
                issuer: caName, subject: try DistinguishedName { CommonName(name) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.clientAuth])
                },
                issuerPrivateKey: caKey)
            let files = ClientFiles(certificate: directory + "/\(name).crt", key: directory + "/\(name).key")
            try write(clientCertificate.serializeAsPEM().pemString, to: files.certificate, mode: 0o644)
            try write(clientKey.serializeAsPEM().pemString, to: files.key, mode: 0o600)
            clientFiles[name] = files
        }
        let files = Files(
            caCertificate: directory + "/ca.crt", serverCertificate: directory + "/server.crt",
            serverKey: directory + "/server.key", caKey: directory + "/ca.key", clients: clientFiles)
        try write(caCertificate.serializeAsPEM().pemString, to: files.caCertificate, mode: 0o644)
        try write(caKey.serializeAsPEM().pemString, to: files.caKey, mode: 0o600)
        try write(serverCertificate.serializeAsPEM().pemString + "\n" + caCertificate.serializeAsPEM().pemString,
                  to: files.serverCertificate, mode: 0o644)
        try write(serverKey.serializeAsPEM().pemString, to: files.serverKey, mode: 0o600)
        return files
    }

    /// An IP address literal becomes an `iPAddress` name, anything else a `dNSName`.
    static func generalName(_ host: String) -> GeneralName {
        if let bytes = ipv4Bytes(host) ?? ipv6Bytes(host) {
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        }
        return .dnsName(host)
    }

    private static func ipv4Bytes(_ host: String) -> [UInt8]? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }

    private static func ipv6Bytes(_ host: String) -> [UInt8]? {
        guard host.contains(":") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, host, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    private static func write(_ text: String, to path: String, mode: Int) throws {
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        // createFile keeps an existing file's mode: set it explicitly.
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        guard FileManager.default.contents(atPath: path) == Data(text.utf8) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// Where docker and podman look for a registry's CA, to print after issuing.
    public static func clientTrustLocations(for hostPort: String) -> [String] {
        [
            "/etc/docker/certs.d/\(hostPort)/ca.crt",
            "/etc/containers/certs.d/\(hostPort)/ca.crt",
        ]
    }
}
