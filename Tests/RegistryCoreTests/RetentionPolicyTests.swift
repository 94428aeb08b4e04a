import Foundation
import RegistryCore
import RegistryModel
import RegistryStorage
import Testing

@Suite("Retention policy")
struct RetentionPolicyTests {
    private let now = Date(timeIntervalSince1970: 1_000_000)

    private func tag(_ name: String, pushedHoursAgo: Double, pulledHoursAgo: Double? = nil) -> TagRecord {
        TagRecord(
            tag: Tag(name)!, manifest: DigestHasher.digest(of: Array(name.utf8)),
            pushedAt: now.addingTimeInterval(-pushedHoursAgo * 3600),
            pulledAt: pulledHoursAgo.map { now.addingTimeInterval(-$0 * 3600) })
    }

    private func deleted(_ rule: RetentionRule, _ tags: [TagRecord]) -> [String] {
        rule.tagsToDelete(tags, now: now).map(\.tag.value)
    }

    @Test func keepLastKeepsTheMostRecentlyPushed() {
        let rule = RetentionRule(repositories: RepositoryPattern("**"), keepLast: 2)
        let tags = [tag("a", pushedHoursAgo: 5), tag("b", pushedHoursAgo: 1), tag("c", pushedHoursAgo: 3), tag("d", pushedHoursAgo: 2)]
        #expect(deleted(rule, tags) == ["a", "c"])
    }

    @Test func keepMatchingMatchesTheWholeName() {
        let rule = RetentionRule(repositories: RepositoryPattern("**"), keepMatching: TagExpression("v[0-9]+"))
        let tags = [tag("v1", pushedHoursAgo: 9), tag("v1-rc", pushedHoursAgo: 9), tag("xv2", pushedHoursAgo: 9), tag("v22", pushedHoursAgo: 9)]
        #expect(deleted(rule, tags) == ["v1-rc", "xv2"])
    }

    @Test func keepPulledWithinCountsPullsAndRecentPushes() {
        let rule = RetentionRule(repositories: RepositoryPattern("**"), keepPulledWithin: .seconds(24 * 3600))
        let tags = [
            tag("old-unpulled", pushedHoursAgo: 100), tag("old-pulled-lately", pushedHoursAgo: 100, pulledHoursAgo: 2),
            tag("old-pulled-long-ago", pushedHoursAgo: 100, pulledHoursAgo: 50), tag("new", pushedHoursAgo: 1),
        ]
        #expect(deleted(rule, tags) == ["old-pulled-long-ago", "old-unpulled"])
    }

    @Test func aTagIsKeptWhenAnyCriterionKeepsIt() {
        let rule = RetentionRule(
            repositories: RepositoryPattern("**"), keepLast: 1, keepMatching: TagExpression("release-.*"),
            keepPulledWithin: .seconds(3600))
        let tags = [
            tag("newest", pushedHoursAgo: 2), tag("release-1", pushedHoursAgo: 90), tag("hot", pushedHoursAgo: 80, pulledHoursAgo: 0.5),
            tag("cold", pushedHoursAgo: 70),
        ]
        #expect(deleted(rule, tags) == ["cold"])
    }

    @Test func aRuleWithoutTagCriteriaKeepsEveryTag() {
        let rule = RetentionRule(repositories: RepositoryPattern("**"), keepUntaggedFor: .seconds(60))
        #expect(!rule.constrainsTags)
        #expect(deleted(rule, [tag("a", pushedHoursAgo: 1000)]).isEmpty)
    }

    @Test func theFirstMatchingRuleApplies() {
        let policy = RetentionPolicy(rules: [
            RetentionRule(repositories: RepositoryPattern("team/special"), keepLast: 100),
            RetentionRule(repositories: RepositoryPattern("team/*"), keepLast: 1),
        ])
        #expect(policy.rule(for: RepositoryName("team/special")!)?.keepLast == 100)
        #expect(policy.rule(for: RepositoryName("team/app")!)?.keepLast == 1)
        #expect(policy.rule(for: RepositoryName("other/app")!) == nil)
    }

    @Test func invalidExpressionsAreRefused() {
        #expect(TagExpression("v[0-9") == nil)
    }
}
