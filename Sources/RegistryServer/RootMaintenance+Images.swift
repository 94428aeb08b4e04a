import RegistryCore
import RegistryImages
import RegistryMirror
import RegistryModel

extension RootMaintenance {
    /// The registry's images, read in process: `registry inspect`, `history`, `verify` and
    /// `squash` with `--root`. Goes through the same ``Registry`` semantics as a request (a
    /// manifest by tag, a blob only where its repository links it).
    public var images: RootImageSource {
        RootImageSource(registry: registry, location: registryName)
    }

    /// A repository of this registry to write images into (`registry squash --root`), through
    /// the same semantics as a push.
    public func destination(_ repository: RepositoryName) -> any MirrorDestination {
        RootMirrorDestination(registry: registry, repository: repository)
    }

    private var registry: Registry {
        Registry(metadata: database, blobs: storage.blobs, uploads: storage.uploads, options: RegistryOptions(), logger: logger)
    }
}
