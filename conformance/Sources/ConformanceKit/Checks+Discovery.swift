import Foundation

extension Check {
    static let contentDiscovery: [Check] = [
        Check("tagListContainsThePushedTagsInLexicalOrder", "end-8a", .contentDiscovery) { context in
            let (repository, tags) = try await context.pushTaggedRepository()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list")
            try context.expectStatus(response, 200, for: "GET tags/list")
            let list = try context.tagList(response)
            try context.expect(list.name == repository, "name \(repository)", got: list.name ?? "none")
            try context.expect(list.tags == tags, "tags \(tags)", got: "\(list.tags)")
        },
        Check("tagListHonoursNWithALinkToTheNextPage", "end-8b", .contentDiscovery) { context in
            let (repository, tags) = try await context.pushTaggedRepository()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=2")
            try context.expectStatus(response, 200, for: "GET tags/list?n=2")
            let list = try context.tagList(response)
            try context.expect(list.tags == Array(tags.prefix(2)), "the first two tags \(Array(tags.prefix(2)))", got: "\(list.tags)")
            try context.expectHeader(response, "Link")
            let link = response.header("Link") ?? ""
            try context.expect(link.contains("rel=\"next\"") && link.contains("last="), "a Link with rel=\"next\" and last=", got: link)
        },
        Check("tagListHonoursLast", "end-8b", .contentDiscovery) { context in
            let (repository, tags) = try await context.pushTaggedRepository()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=2&last=\(tags[1])")
            try context.expectStatus(response, 200, for: "GET tags/list?n=2&last=\(tags[1])")
            let list = try context.tagList(response)
            try context.expect(list.tags == Array(tags[2..<4]), "tags \(Array(tags[2..<4]))", got: "\(list.tags)")
        },
        Check("tagListWithNZeroIsEmpty", "end-8b", .contentDiscovery) { context in
            let (repository, _) = try await context.pushTaggedRepository()
            let response = try await context.send(.GET, "/v2/\(repository)/tags/list?n=0")
            try context.expectStatus(response, 200, for: "GET tags/list?n=0")
            let list = try context.tagList(response)
            try context.expect(list.tags.isEmpty, "an empty tag list", got: "\(list.tags)")
        },
        Check("tagListOfAnUnknownRepositoryIs404", "end-8a", .contentDiscovery) { context in
            let response = try await context.send(.GET, "/v2/\(context.repository)/never-pushed-\(context.run.id)/tags/list")
            try context.expectStatus(response, 404, for: "GET tags/list of a repository that does not exist")
            try context.expectErrorCode(response, "NAME_UNKNOWN")
        },
        Check("referrersListManifestsWhoseSubjectIsTheDigest", "end-12a", .contentDiscovery) { context in
            let (subject, artifacts) = try await context.pushReferrers()
            let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/\(subject.digest)")
            try context.skipIfUnsupported(response, "the referrers API")
            try context.expectStatus(response, 200, for: "GET referrers")
            try context.expectHeader(response, "Content-Type", equals: Fixtures.ociIndex)
            let descriptors = try context.indexDescriptors(response)
            let digests = Set(descriptors.compactMap { $0["digest"] as? String })
            try context.expect(digests == Set(artifacts.map(\.digest)), "referrers \(artifacts.map(\.digest).sorted())", got: "\(digests.sorted())")
            guard let signature = descriptors.first(where: { $0["digest"] as? String == artifacts[0].digest }) else { return }
            try context.expect(signature["artifactType"] as? String == "application/vnd.conformance.signature",
                               "artifactType application/vnd.conformance.signature", got: "\(signature["artifactType"] ?? "none")")
            try context.expect((signature["annotations"] as? [String: String])?["org.conformance.kind"] == "signature",
                               "the manifest's annotations", got: "\(signature["annotations"] ?? "none")")
        },
        Check("referrersFilterByArtifactType", "end-12b", .contentDiscovery) { context in
            let (subject, artifacts) = try await context.pushReferrers()
            let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/\(subject.digest)?artifactType=application/vnd.conformance.signature")
            try context.skipIfUnsupported(response, "the referrers API")
            try context.expectStatus(response, 200, for: "GET referrers?artifactType=")
            try context.expectHeader(response, "OCI-Filters-Applied", equals: "artifactType")
            let digests = try context.indexDescriptors(response).compactMap { $0["digest"] as? String }
            try context.expect(digests == [artifacts[0].digest], "only the signature \(artifacts[0].digest)", got: "\(digests)")
        },
        Check("referrersOfAnUnknownDigestIsAnEmptyIndex", "end-12a", .contentDiscovery) { context in
            let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/\(Digests.sha256(Digests.randomBytes(16)))")
            try context.skipIfUnsupported(response, "the referrers API")
            try context.expectStatus(response, 200, for: "GET referrers of a digest nothing refers to")
            let descriptors = try context.indexDescriptors(response)
            try context.expect(descriptors.isEmpty, "an empty manifests list", got: "\(descriptors.count) entries")
        },
    ]
}

extension CheckContext {
    /// Pushes one image under five tags into a fresh repository; returns it and the tags sorted.
    func pushTaggedRepository() async throws -> (repository: String, tags: [String]) {
        let repository = "\(self.repository)/tags-\(run.id)-\(UInt16.random(in: .min ... .max))"
        let image = try await pushImage(tag: "zeta", in: repository)
        let tags = ["zeta", "Alpha", "beta", "beta.1", "gamma_2"]
        for tag in tags.dropFirst() {
            let response = try await putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: tag, in: repository)
            guard response.status == 201 else { throw CheckFailure("setup: tagging \(tag) answered \(describe(response))") }
        }
        return (repository, tags.sorted())
    }

    /// Pushes a subject image and two artifacts referring to it (a signature and an SBOM).
    func pushReferrers() async throws -> (subject: Fixtures.Image, artifacts: [Fixtures.Image]) {
        let subject = try await pushImage(tag: run.tag("subject-\(UInt16.random(in: .min ... .max))"))
        var artifacts: [Fixtures.Image] = []
        for kind in ["signature", "sbom"] {
            let artifact = try Fixtures.image(layers: [Digests.randomBytes(64)], extra: [
                "artifactType": "application/vnd.conformance.\(kind)",
                "subject": subject.descriptor,
                "annotations": ["org.conformance.kind": kind],
            ])
            try await pushBlob(artifact.config)
            try await pushBlob(artifact.layers[0])
            let response = try await putManifest(artifact.manifest, mediaType: Fixtures.ociManifest, reference: artifact.digest)
            guard response.status == 201 else { throw CheckFailure("setup: pushing the \(kind) answered \(describe(response))") }
            artifacts.append(artifact)
        }
        return (subject, artifacts)
    }

    func tagList(_ response: ConformanceClient.Response) throws -> (name: String?, tags: [String]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw CheckFailure(expected: "a JSON tag list", got: describe(response))
        }
        return (object["name"] as? String, object["tags"] as? [String] ?? [])
    }

    func indexDescriptors(_ response: ConformanceClient.Response) throws -> [[String: Any]] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              object["schemaVersion"] as? Int == 2, let manifests = object["manifests"] as? [[String: Any]]
        else {
            throw CheckFailure(expected: "an OCI image index with a manifests array", got: describe(response))
        }
        return manifests
    }
}
