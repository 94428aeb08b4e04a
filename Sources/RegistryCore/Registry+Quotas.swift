import RegistryModel
import RegistryStorage

/// What a write checked against a repository's quota, for the warning once it landed.
struct QuotaCheck: Sendable {
    var quota: StorageQuota
    var usedBefore: Int64
    var adding: Int64
}

extension Registry {
    /// Refuses, with `403 DENIED` naming the quota, the usage and the limit, a write that would
    /// link `size` more bytes (blob `digest`, when known) to `repository` past its quota. A blob
    /// the repository already links adds nothing and always passes. Nil when nothing is to be
    /// counted (no quota, or nothing added).
    ///
    /// Checked before the write, outside its transaction: concurrent uploads to one repository
    /// may each pass on the same usage, so a repository can end above its limit by at most the
    /// blobs being uploaded to it at that instant; the next upload is then refused. The
    /// registry never refuses what it could store, and the overshoot is bounded by the
    /// concurrency of one repository's pushes.
    func checkQuota(adding size: Int64, blob digest: Digest?, in repository: RepositoryName) async throws -> QuotaCheck? {
        guard let quota = options.quotas.quota(for: repository) else { return nil }
        if let digest, try await metadata.blobSize(digest, in: repository) != nil { return nil }
        let used = try await metadata.linkedBlobBytes(in: repository)
        guard size <= quota.limit - used else {
            logger.notice("upload refused by storage quota", metadata: [
                "repository": "\(repository)", "quota": "\(quota.name)", "used": "\(used)", "limit": "\(quota.limit)",
                "size": "\(size)",
            ])
            throw quota.refusal(repository, used: used, adding: size)
        }
        return QuotaCheck(quota: quota, usedBefore: used, adding: size)
    }

    /// After a checked write landed: warns when it took the repository across the quota's
    /// warning share.
    func noteQuotaUse(_ check: QuotaCheck?, in repository: RepositoryName) {
        guard let check, let threshold = options.quotas.warningThreshold(of: check.quota) else { return }
        let after = check.usedBefore + check.adding
        guard check.usedBefore < threshold, after >= threshold else { return }
        quotaWarnings.raise(QuotaWarning(repository: repository, quota: check.quota, used: after), logger: logger)
    }

    /// The quota `repository` is held to and what it uses now; nil without a quota.
    public func quotaUse(of repository: RepositoryName) async throws -> (quota: StorageQuota, used: Int64)? {
        guard let quota = options.quotas.quota(for: repository) else { return nil }
        return (quota, try await metadata.linkedBlobBytes(in: repository))
    }
}
