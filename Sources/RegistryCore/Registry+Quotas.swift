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
    /// The early answer, before any byte is stored when the size is known: concurrent uploads
    /// may each pass it on the same usage. What decides is the link itself
    /// (``linkingWithinQuota(_:adding:_:)``), checked again inside its transaction.
    func checkQuota(adding size: Int64, blob digest: Digest?, in repository: RepositoryName) async throws -> QuotaCheck? {
        guard let quota = options.quotas.quota(for: repository) else { return nil }
        if let digest, try await metadata.blobSize(digest, in: repository) != nil { return nil }
        let used = try await metadata.linkedBlobBytes(in: repository)
        guard size <= quota.limit - used else { throw refusal(by: quota, in: repository, used: used, adding: size) }
        return QuotaCheck(quota: quota, usedBefore: used, adding: size)
    }

    /// Runs a write that links `size` bytes to `repository` (an upload's finish, a mount) with
    /// the repository's quota limit, which the store checks inside the write's transaction:
    /// writes are serialised, so concurrent uploads cannot together pass the quota. Its
    /// ``QuotaLimitReached`` becomes the refusal ``checkQuota(adding:blob:in:)`` gives.
    func linkingWithinQuota<T>(_ repository: RepositoryName, adding size: Int64, _ link: (Int64?) async throws -> T) async throws -> T {
        let quota = options.quotas.quota(for: repository)
        do {
            return try await link(quota?.limit)
        } catch let reached as QuotaLimitReached {
            guard let quota else { throw reached }  // Unreachable: no limit, no refusal.
            throw refusal(by: quota, in: repository, used: try await metadata.linkedBlobBytes(in: repository), adding: size)
        }
    }

    private func refusal(by quota: StorageQuota, in repository: RepositoryName, used: Int64, adding size: Int64) -> RegistryError {
        logger.notice("upload refused by storage quota", metadata: [
            "repository": "\(repository)", "quota": "\(quota.name)", "used": "\(used)", "limit": "\(quota.limit)",
            "size": "\(size)",
        ])
        return quota.refusal(repository, used: used, adding: size)
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
