import ArgumentParser
import RegistryUpstream

/// `--src-creds`, `--dest-creds`, `--src-ca`, `--dest-ca`: how the commands that copy between
/// two registries (`mirror`, `squash`) log in to each and which CA each one's TLS certificate
/// is checked against.
struct RegistryLogins: ParsableArguments {
    @Option(name: .customLong("src-creds"), help: ArgumentHelp("USER:PASSWORD for the source registry.", valueName: "USER:PASSWORD"))
    var sourceCredentials: String?

    @Option(name: .customLong("dest-creds"), help: ArgumentHelp("USER:PASSWORD for the destination registry.", valueName: "USER:PASSWORD"))
    var destinationCredentials: String?

    @Option(name: .customLong("src-ca"), help: ArgumentHelp("PEM CA certificates to trust for the source registry.", valueName: "FILE"))
    var sourceCA: String?

    @Option(name: .customLong("dest-ca"), help: ArgumentHelp("PEM CA certificates to trust for the destination registry.", valueName: "FILE"))
    var destinationCA: String?

    func source(_ baseURL: String) throws -> UpstreamClient {
        try UpstreamClient.commandLine(baseURL: baseURL, credentials: sourceCredentials, ca: sourceCA)
    }

    func destination(_ baseURL: String) throws -> UpstreamClient {
        try UpstreamClient.commandLine(baseURL: baseURL, credentials: destinationCredentials, ca: destinationCA)
    }
}

extension UpstreamClient {
    /// A client for a registry named on the command line, with `USER:PASSWORD` and a CA file
    /// as the options gave them (a malformed one is the command's usage error).
    static func commandLine(baseURL: String, credentials: String?, ca caFile: String?) throws -> UpstreamClient {
        var login: UpstreamCredentials?
        if let credentials {
            guard let colon = credentials.firstIndex(of: ":") else { throw ValidationError("credentials must be USER:PASSWORD") }
            login = UpstreamCredentials(
                username: String(credentials[..<colon]), password: String(credentials[credentials.index(after: colon)...]))
        }
        do {
            return UpstreamClient(baseURL: baseURL, credentials: login, http: try httpClient(trustingCertificatesIn: caFile))
        } catch {
            throw ValidationError("cannot read the CA certificates in \(caFile ?? ""): \(error)")
        }
    }
}
