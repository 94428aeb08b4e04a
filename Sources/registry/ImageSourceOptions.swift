import ArgumentParser
import RegistryImages
import RegistryModel
import RegistryServer
import RegistryUpstream

/// Where `inspect`, `history` and `verify` read an image: a registry (REF is
/// `HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`, logins and CA as `registry mirror`), or with `--root`
/// (or `--config`) a registry's storage read in process (REF is `REPOSITORY[:TAG|@DIGEST]`).
struct ImageSourceOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "The image: HOST[:PORT]/REPOSITORY[:TAG|@DIGEST], or REPOSITORY[:TAG|@DIGEST] with --root.", valueName: "REF"))
    var image: String

    @Option(help: "Read the image from this storage root instead of a registry.")
    var root: String?

    @Option(help: "Read the image from the registry this YAML configuration names (its root, or its cluster's database and bucket).")
    var config: String?

    @Option(name: .customLong("creds"), help: ArgumentHelp("USER:PASSWORD for the registry.", valueName: "USER:PASSWORD"))
    var credentials: String?

    @Option(help: ArgumentHelp("PEM CA certificates to trust for the registry's TLS certificate.", valueName: "FILE"))
    var ca: String?

    var isLocal: Bool { root != nil || config != nil }

    /// Opens the source, runs `body` with it and the image's repository and reference, closes it.
    func withSource<T>(_ body: (any ImageSource, RepositoryName, Reference) async throws -> T) async throws -> T {
        let parsed = try ImageReference.validated(image)
        if isLocal {
            let repository = try parsed.localRepository()
            return try await RootOptions(root: root, config: config).withRoot { maintenance in
                try await body(maintenance.images, repository, parsed.reference)
            }
        }
        let address = try parsed.remoteAddress()
        let client = try UpstreamClient.commandLine(baseURL: address.baseURL, credentials: credentials, ca: ca)
        return try await body(RemoteImageSource(client: client), address.repository, parsed.reference)
    }
}

extension ImageReference {
    /// `text` parsed, or the command's usage error saying why not.
    static func validated(_ text: String) throws -> ImageReference {
        do {
            return try ImageReference(parsing: text)
        } catch {
            throw ValidationError("\(text): \(error.message)")
        }
    }

    /// The repository of a storage root this names (`--root`: no host).
    func localRepository() throws -> RepositoryName {
        guard let repository = RepositoryName(location) else {
            throw ValidationError("\(location) is not a repository name (with --root, references have no host)")
        }
        return repository
    }

    /// The registry and repository this names.
    func remoteAddress() throws -> UpstreamAddress {
        do {
            return try UpstreamAddress(parsing: location)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension RootOptions {
    init(root: String?, config: String?) {
        self.init()
        self.root = root
        self.config = config
    }
}
