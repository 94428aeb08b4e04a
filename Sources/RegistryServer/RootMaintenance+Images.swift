import RegistryCore
import RegistryImages

extension RootMaintenance {
    /// The registry's images, read in process: `registry inspect`, `history`, `verify` and
    /// `squash` with `--root`. Goes through the same ``Registry`` semantics as a request (a
    /// manifest by tag, a blob only where its repository links it).
    public var images: RootImageSource {
        let registry = Registry(
            metadata: database, blobs: storage.blobs, uploads: storage.uploads, options: RegistryOptions(), logger: logger)
        return RootImageSource(registry: registry, location: registryName)
    }
}
