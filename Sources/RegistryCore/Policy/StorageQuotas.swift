import RegistryModel

/// Byte limits on what repositories store: the sum of the sizes of the distinct blobs linked to a
/// repository (what `registry du` shows as its physical size; manifests, kept in the metadata
/// database, do not count). A repository takes the limit of the first rule whose glob matches
/// it, else the registry-wide default, else has none.
///
/// Usage is read from the metadata's links whenever a write is checked, never kept on the side:
/// deletes, repository deletes and garbage collection give space back by themselves.
public struct StorageQuotas: Sendable, Equatable {
    /// The limit of repositories no rule matches; nil for none.
    public var defaultLimit: Int64?
    /// Warn once usage reaches this share of the limit (1 to 100); nil never warns.
    public var warnPercent: Int?
    public var rules: [StorageQuotaRule]

    public init(defaultLimit: Int64? = nil, warnPercent: Int? = 80, rules: [StorageQuotaRule] = []) {
        self.defaultLimit = defaultLimit
        self.warnPercent = warnPercent
        self.rules = rules
    }

    public var isEmpty: Bool { defaultLimit == nil && rules.isEmpty }

    /// The quota `repository` is held to, if any.
    public func quota(for repository: RepositoryName) -> StorageQuota? {
        if let rule = rules.first(where: { rule in rule.repositories.contains { $0.matches(repository.value) } }) {
            return StorageQuota(name: rule.name, limit: rule.limit)
        }
        return defaultLimit.map { StorageQuota(name: "default", limit: $0) }
    }

    /// The bytes at which `quota` warns, if warnings are on.
    func warningThreshold(of quota: StorageQuota) -> Int64? {
        warnPercent.map { quota.limit / 100 * Int64($0) + quota.limit % 100 * Int64($0) / 100 }
    }
}

/// One `quotas.rules` entry.
public struct StorageQuotaRule: Sendable, Equatable {
    /// Named in refusals; the rule's first glob when the configuration gives no name.
    public var name: String
    public var repositories: [RepositoryPattern]
    public var limit: Int64

    public init(name: String? = nil, repositories: [RepositoryPattern], limit: Int64) {
        self.name = name ?? repositories.first?.pattern ?? "quota"
        self.repositories = repositories
        self.limit = limit
    }
}

/// The limit one repository is held to, and the name refusals give it.
public struct StorageQuota: Sendable, Equatable {
    public var name: String
    public var limit: Int64

    public init(name: String, limit: Int64) {
        self.name = name
        self.limit = limit
    }

    /// `used` as `1.2 GiB / 5 GiB (24%)`.
    public func describe(used: Int64) -> String {
        "\(ByteCount.format(used)) / \(ByteCount.format(limit)) (\(percent(of: used))%)"
    }

    /// Share of the limit `used` takes, in whole percent rounded down.
    public func percent(of used: Int64) -> Int {
        limit <= 0 ? 100 : Int((Double(used) / Double(limit) * 100).rounded(.down))
    }

    /// `403 DENIED`: storing `adding` more bytes would take the repository past its limit.
    func refusal(_ repository: RepositoryName, used: Int64, adding: Int64) -> RegistryError {
        RegistryError(
            .denied,
            message: "storage quota \"\(name)\" exceeded for \(repository.value): \(ByteCount.format(used)) of \(ByteCount.format(limit)) used, "
                + "this upload needs \(ByteCount.format(adding)) more; delete images (the space is given back at once, blobs "
                + "shared with other repositories included) or ask an operator to raise the quota",
            detail: ["quota": name, "used": "\(used)", "limit": "\(limit)", "requested": "\(adding)"])
    }
}
