import ArgumentParser
import RegistryServer

struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Write a private CA and a server certificate for quick TLS setups.",
        discussion: "Writes ca.crt, ca.key, server.crt (with the CA appended) and server.key into --out, and NAME.crt/NAME.key for each --client."
    )

    @Option(name: .customLong("host"), help: "Host name or IP address the certificate is for (repeatable).")
    var hosts: [String]

    @Option(name: .customLong("client"), help: "Also issue a client certificate with this common name, for mutual TLS (repeatable).")
    var clients: [String] = []

    @Option(help: "Directory to write the files into.")
    var out: String

    @Option(help: "The port clients will use, for the trust paths printed at the end.")
    var port = 5000

    func validate() throws {
        if hosts.isEmpty { throw ValidationError("give at least one --host") }
    }

    func run() throws {
        let files = try CertificateAuthority.issue(hosts: hosts, clients: clients, into: out)
        print("wrote \(files.caCertificate), \(files.caKey), \(files.serverCertificate), \(files.serverKey)")
        for (name, client) in files.clients.sorted(by: { $0.key < $1.key }) {
            print("client \(name): \(client.certificate), \(client.key) (serve with --tls-client-ca \(files.caCertificate))")
        }
        print("serve:   registry serve --listen 0.0.0.0:\(port) --tls-cert \(files.serverCertificate) --tls-key \(files.serverKey)")
        print("trust the CA where each client looks for it:")
        for host in hosts {
            for location in CertificateAuthority.clientTrustLocations(for: "\(host):\(port)") {
                print("  mkdir -p \(location.dropLast("/ca.crt".count)) && cp \(files.caCertificate) \(location)")
            }
        }
    }
}
