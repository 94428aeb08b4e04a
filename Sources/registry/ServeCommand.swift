import ArgumentParser
import Logging
import RegistryServer
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the registry.",
        discussion: """
            With no options: listens on 127.0.0.1:5000 and stores everything under ./data.
            Settings come from, highest priority first: these flags, REGISTRY_* environment
            variables (e.g. REGISTRY_HTTP_LISTEN, REGISTRY_STORAGE_ROOT), the --config YAML file.
            """
    )

    @Option(help: "Address to listen on, HOST:PORT (default 127.0.0.1:5000).")
    var listen: String?

    @Option(help: "Storage root directory (default ./data).")
    var root: String?

    @Option(help: "YAML configuration file.")
    var config: String?

    @Option(help: "PEM certificate chain: serve HTTPS (HTTP/1.1 and HTTP/2). Re-read on SIGHUP.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(help: "PEM CA bundle: verify client certificates signed by it (mutual TLS).")
    var tlsClientCa: String?

    @Option(help: "htpasswd file with bcrypt entries: require a login on every endpoint. Re-read when it changes.")
    var htpasswd: String?

    @Option(help: "Token mode: the Bearer realm URL clients get tokens from, normally this registry's https://HOST:PORT/token.")
    var tokenRealm: String?

    @Option(help: ArgumentHelp("Serve an upstream registry as a pull-through cache under the path prefix NAME (repeatable); credentials and the rest go in the config file.", valueName: "NAME=URL"))
    var proxy: [String] = []

    @Flag(help: "With logins configured, let anonymous clients pull.")
    var anonymousPull = false

    @Flag(help: "Refuse every write.")
    var readOnly = false

    @Flag(help: "Refuse blob and manifest deletes.")
    var noDelete = false

    func run() async throws {
        MallocTuning.apply()
        var flags: [String: String] = [:]
        flags["http.listen"] = listen
        flags["storage.root"] = root
        flags["tls.certificate"] = tlsCert
        flags["tls.key"] = tlsKey
        flags["tls.client_ca"] = tlsClientCa
        flags["auth.htpasswd"] = htpasswd
        flags["auth.token.realm"] = tokenRealm
        if anonymousPull { flags["auth.anonymous_pull"] = "true" }
        if readOnly { flags["storage.read_only"] = "true" }
        if noDelete { flags["storage.delete_enabled"] = "false" }
        let configuration: RegistryConfiguration
        do {
            configuration = try await RegistryConfiguration.load(flags: flags, configFile: config, proxies: proxy)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }

        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch configuration.logFormat {
                case .text: StreamLogHandler.standardError(label: label)
                case .json: JSONLogHandler(label: label)
                }
            handler.logLevel = configuration.logLevel
            return handler
        }
        let logger = Logger(label: "registry")
        let application = RegistryApplication(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
