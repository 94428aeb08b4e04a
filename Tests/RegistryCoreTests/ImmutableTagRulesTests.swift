import RegistryCore
import RegistryModel
import Testing

@Suite("Immutable tag and quota rules")
struct ImmutableTagRulesTests {
    private let rules = ImmutableTagRules([
        ImmutableTagRule(name: "releases", repositories: [RepositoryPattern("team/**")], tags: TagExpression(#"v[0-9]+\..*"#)!),
        ImmutableTagRule(
            name: "stable", repositories: [RepositoryPattern("team/**"), RepositoryPattern("base/*")], tags: TagExpression("stable")!,
            adminsMayOverride: true),
    ])

    @Test func tagsMatchWholeAndRepositoriesByGlob() throws {
        let app = try #require(RepositoryName("team/app"))
        #expect(rules.rule(protecting: Tag("v1.2")!, in: app)?.name == "releases")
        #expect(rules.rule(protecting: Tag("xv1.2")!, in: app) == nil)
        #expect(rules.rule(protecting: Tag("v1")!, in: app) == nil)
        #expect(rules.rule(protecting: Tag("stable")!, in: try #require(RepositoryName("base/os")))?.name == "stable")
        #expect(rules.rule(protecting: Tag("v1.2")!, in: try #require(RepositoryName("base/os"))) == nil)
        #expect(!rules.covers(try #require(RepositoryName("other/app"))))
    }

    @Test func adminsOverrideOnlyWhereTheRuleSaysSo() throws {
        let app = try #require(RepositoryName("team/app"))
        #expect(throws: RegistryError.self) { try rules.requireChangeable(Tag("v1.0")!, in: app, change: .moved, isAdmin: true) }
        try rules.requireChangeable(Tag("stable")!, in: app, change: .deleted, isAdmin: true)
        do {
            try rules.requireChangeable(Tag("stable")!, in: app, change: .deleted, isAdmin: false)
            Issue.record("not refused")
        } catch {
            #expect(error.code == .tagImmutable && error.status == 409 && error.code.wireCode == "DENIED")
            #expect(error.detail?["rule"] == "stable")
        }
    }

    @Test func quotasTakeTheFirstMatchingRuleThenTheDefault() throws {
        let quotas = StorageQuotas(
            defaultLimit: 100, warnPercent: 80,
            rules: [
                StorageQuotaRule(name: "team", repositories: [RepositoryPattern("team/**")], limit: 50),
                StorageQuotaRule(repositories: [RepositoryPattern("team/big")], limit: 500),
            ])
        #expect(quotas.quota(for: try #require(RepositoryName("team/big"))) == StorageQuota(name: "team", limit: 50))
        #expect(quotas.quota(for: try #require(RepositoryName("other"))) == StorageQuota(name: "default", limit: 100))
        #expect(StorageQuotas().quota(for: try #require(RepositoryName("other"))) == nil)
        #expect(StorageQuota(name: "q", limit: 10 << 10).describe(used: 8 << 10) == "8 KiB / 10 KiB (80%)")
    }
}
