import RegistryModel

/// Behaviour switches of the registry semantics layer.
public struct RegistryOptions: Sendable {
    /// Whether blob and manifest deletes are allowed (`405 UNSUPPORTED` otherwise).
    public var deletesEnabled: Bool
    /// Refuses every write with `405 UNSUPPORTED`.
    public var readOnly: Bool
    /// The index entry served to a client that asks by tag for a Docker manifest list it cannot read.
    public var defaultPlatform: Platform
    /// Sessions not written to for this long are deleted with their data.
    public var uploadExpiry: Duration
    /// Largest manifest body accepted (`413` beyond).
    public var maxManifestBytes: Int
    /// `/readyz` reports not ready while the storage's file system has less free space than this.
    public var minimumFreeSpace: FreeSpaceFloor
    /// With a blob store that can hand out URLs (object storage), blob downloads are answered
    /// with a redirect to a URL valid this long instead of the bytes; nil streams them.
    public var blobRedirectLifetime: Duration?
    /// Tags that may not move or go (`409 DENIED` naming the rule).
    public var immutableTags = ImmutableTagRules()
    /// Byte limits on repositories' blobs (`403 DENIED` naming the quota).
    public var quotas = StorageQuotas(warnPercent: nil)

    public init(
        deletesEnabled: Bool = true,
        readOnly: Bool = false,
        defaultPlatform: Platform = Platform(os: "linux", architecture: "amd64"),
        uploadExpiry: Duration = .seconds(24 * 3600),
        maxManifestBytes: Int = 4 * 1024 * 1024,
        minimumFreeSpace: FreeSpaceFloor = .disabled,
        blobRedirectLifetime: Duration? = nil
    ) {
        self.deletesEnabled = deletesEnabled
        self.readOnly = readOnly
        self.defaultPlatform = defaultPlatform
        self.uploadExpiry = uploadExpiry
        self.maxManifestBytes = maxManifestBytes
        self.minimumFreeSpace = minimumFreeSpace
        self.blobRedirectLifetime = blobRedirectLifetime
    }
}
