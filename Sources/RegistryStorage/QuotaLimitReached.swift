/// A write that would have taken a repository's linked bytes (``MetadataStore/linkedBlobBytes(in:)``)
/// past the limit it was given. Nothing was written. Checked inside the write's transaction, so
/// concurrent uploads to one repository cannot together pass its storage quota.
public struct QuotaLimitReached: Error, Sendable, Equatable {
    public init() {}
}
