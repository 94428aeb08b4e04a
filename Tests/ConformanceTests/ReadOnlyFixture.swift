import Testing
@testable import ConformanceKit

/// Content pushed into a registry before a read-only run, with the checker's own helpers: an
/// image with two referrers and a nested index, all tagged.
enum ReadOnlyFixture {
    static func push(to baseURL: String, repository: String) async throws -> (tags: [String], digests: [String]) {
        let context = context(baseURL, repository)
        var content = VariantContent(algorithm: .sha256, tagSuffix: "existing")
        for name in ["imageWithReferrersRoundTrips", "nestedIndexRoundTrips"] {
            try ContentVariant.all.first { $0.name == name }!.build(&content)
        }
        try await context.pushAndVerify(content)
        return (content.tags.map(\.tag), [content.manifests[0].digest])
    }

    static func tags(of repository: String, at baseURL: String) async throws -> [String] {
        try await context(baseURL, repository).allTags()
    }

    private static func context(_ baseURL: String, _ repository: String) -> CheckContext {
        let configuration = ConformanceConfiguration(baseURL: baseURL, repository: repository)
        return CheckContext(
            client: ConformanceClient(configuration: configuration), configuration: configuration,
            recorder: ExchangeRecorder(), run: RunState(), algorithm: .sha256)
    }
}

@Suite("Conformance checker parsing")
struct ConformanceParsingTests {
    @Test func linkNextIsFoundAmongOtherLinks() {
        #expect(Link.next(in: #"</v2/a/tags/list?n=2&last=b>; rel="next""#) == "/v2/a/tags/list?n=2&last=b")
        #expect(Link.next(in: #"<https://x/prev>; rel="prev", <https://x/next?last=c>; rel=next"#) == "https://x/next?last=c")
        #expect(Link.next(in: #"</v2/a/tags/list?n=2>; rel="prev""#) == nil)
        #expect(Link.next(in: "") == nil)
        #expect(Link.resolve("?n=2&last=b", against: "/v2/a/tags/list?n=2") == "/v2/a/tags/list?n=2&last=b")
    }

    @Test func tagOrdersAreTold() {
        #expect(TagOrder(of: ["B", "a", "c"]) == .ascii)
        #expect(TagOrder(of: ["a", "B", "c"]) == .caseInsensitive)
        #expect(TagOrder(of: ["c", "a", "B"]) == nil)
        let tags = CheckContext.orderRevealingTags
        #expect(TagOrder.ascii.sorted(tags) != TagOrder.caseInsensitive.sorted(tags))
    }
}
