import Foundation

extension Check {
    static let tagsList: [Check] = [
        Check("tagListContainsThePushedTagsInLexicalOrder", "end-8a", .tagsList) { context in
            let (repository, tags) = try await context.pushTaggedRepository()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list")
            try context.expectStatus(response, 200, for: "GET tags/list")
            let list = try context.tagList(response)
            try context.expect(list.name == repository, "name \(repository)", got: list.name ?? "none")
            try context.expect(Set(list.tags) == Set(tags) && list.tags.count == tags.count, "exactly the tags \(tags.sorted())", got: "\(list.tags)")
            try context.expect(
                TagOrder(of: list.tags) != nil,
                "ASCIIbetical order \(TagOrder.ascii.sorted(tags)) or case-insensitive order \(TagOrder.caseInsensitive.sorted(tags))",
                got: "\(list.tags)")
        },
        Check("tagListOfAnUnknownRepositoryIs404", "end-8a", .tagsList) { context in
            let response = try await context.send(.GET, "/v2/\(context.repository)/never-pushed-\(context.run.id)/tags/list")
            try context.expectStatus(response, 404, for: "GET tags/list of a repository that does not exist")
            try context.expectErrorCode(response, "NAME_UNKNOWN")
        },
    ]
}

extension CheckContext {
    /// Tags whose ASCIIbetical and case-insensitive orders differ, so the check tells a
    /// registry using either from one using neither (e.g. storage order).
    static let orderRevealingTags = ["zeta", "Alpha", "beta", "Beta2", "10", "9", "gamma-1", "Gamma.2", "delta", "Echo", "e3", "omega"]

    /// Pushes one image under twelve tags into a fresh repository; returns it and the tags.
    func pushTaggedRepository() async throws -> (repository: String, tags: [String]) {
        let repository = run.repository(under: self.repository, "tags")
        let tags = Self.orderRevealingTags
        let image = try await pushImage(tag: tags[0], in: repository)
        for tag in tags.dropFirst() {
            let response = try await putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: tag, in: repository)
            guard response.status == 201 else { throw CheckFailure("setup: tagging \(tag) answered \(describe(response))") }
        }
        return (repository, tags)
    }

    func tagList(_ response: ConformanceClient.Response) throws -> (name: String?, tags: [String]) {
        guard response.status == 200, let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw CheckFailure(expected: "a JSON tag list", got: describe(response))
        }
        return (object["name"] as? String, object["tags"] as? [String] ?? [])
    }
}
