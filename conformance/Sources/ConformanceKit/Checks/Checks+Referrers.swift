import Foundation

extension Check {
    static let referrers: [Check] = [
        Check("manifestWithAMissingSubjectIsAcceptedWithOCISubject", "end-7", .referrers) { context in
            let subject = Digests.sha256(Digests.randomBytes(64))
            let image = try Fixtures.image(layers: [Digests.randomBytes(100)], extra: [
                "artifactType": "application/vnd.conformance.test",
                "subject": ["mediaType": Fixtures.ociManifest, "digest": subject, "size": 64],
            ])
            for blob in image.blobs { try await context.pushBlob(blob) }
            let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: context.run.tag("orphan-referrer"))
            try context.expectStatus(response, 201, for: "PUT of a manifest with a subject that does not exist")
            try context.expectHeader(response, "OCI-Subject", equals: subject)
        },
        Check("referrersListManifestsWhoseSubjectIsTheDigest", "end-12a", .referrers) { context in
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
            try context.expect(signature["size"] as? Int == artifacts[0].manifest.count && signature["mediaType"] as? String == Fixtures.ociManifest,
                               "the manifest's size and media type", got: "\(signature)")
        },
        Check("referrersFilterByArtifactType", "end-12b", .referrers) { context in
            let (subject, artifacts) = try await context.pushReferrers()
            let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/\(subject.digest)?artifactType=application/vnd.conformance.signature")
            try context.skipIfUnsupported(response, "the referrers API")
            try context.expectStatus(response, 200, for: "GET referrers?artifactType=")
            try context.expectHeader(response, "OCI-Filters-Applied", equals: "artifactType")
            let digests = try context.indexDescriptors(response).compactMap { $0["digest"] as? String }
            try context.expect(digests == [artifacts[0].digest], "only the signature \(artifacts[0].digest)", got: "\(digests)")
        },
        Check("referrerWithoutArtifactTypeIsListedWithItsConfigMediaType", "end-12a", .referrers) { context in
            let subject = try await context.pushImage(tag: context.run.tag("subject-config-type"))
            let config = Array(#"{"conformance":true}"#.utf8)
            let layer = Digests.randomBytes(64)
            let configType = "application/vnd.conformance.config.v1+json"
            let manifest = try Fixtures.json([
                "schemaVersion": 2, "mediaType": Fixtures.ociManifest,
                "config": Fixtures.descriptor(configType, config, .sha256),
                "layers": [Fixtures.descriptor(Fixtures.ociLayer, layer, .sha256)],
                "subject": subject.descriptor,
            ])
            for blob in [config, layer] { try await context.pushBlob(blob) }
            try await context.pushManifest(manifest, mediaType: Fixtures.ociManifest)
            let descriptor = try await context.referrer(Digests.sha256(manifest), of: subject.digest)
            try context.expect(descriptor["artifactType"] as? String == configType, "artifactType \(configType) (the config's media type)",
                               got: "\(descriptor["artifactType"] ?? "none")")
        },
        Check("indexWithASubjectIsListedAsAReferrer", "end-12a", .referrers) { context in
            let subject = try await context.pushImage(tag: context.run.tag("subject-of-index"))
            let child = try await context.pushImage()
            let index = try Fixtures.index(of: [(child, ["os": "linux", "architecture": "amd64"])], extra: [
                "subject": subject.descriptor, "annotations": ["org.conformance.kind": "index"],
            ])
            let put = try await context.putManifest(index, mediaType: Fixtures.ociIndex, reference: Digests.sha256(index))
            try context.expectStatus(put, 201, for: "PUT of an index with a subject")
            try context.expectHeader(put, "OCI-Subject", equals: subject.digest)
            let descriptor = try await context.referrer(Digests.sha256(index), of: subject.digest)
            try context.expect(descriptor["mediaType"] as? String == Fixtures.ociIndex, "mediaType \(Fixtures.ociIndex)", got: "\(descriptor["mediaType"] ?? "none")")
            try context.expect(descriptor["artifactType"] == nil, "no artifactType (the index has none)", got: "\(descriptor["artifactType"] ?? "")")
            try context.expect((descriptor["annotations"] as? [String: String])?["org.conformance.kind"] == "index",
                               "the index's annotations", got: "\(descriptor["annotations"] ?? "none")")
        },
        Check("referrersOfAnUnknownDigestIsAnEmptyIndex", "end-12a", .referrers) { context in
            let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/\(Digests.sha256(Digests.randomBytes(16)))")
            try context.skipIfUnsupported(response, "the referrers API")
            try context.expectStatus(response, 200, for: "GET referrers of a digest nothing refers to")
            let descriptors = try context.indexDescriptors(response)
            try context.expect(descriptors.isEmpty, "an empty manifests list", got: "\(descriptors.count) entries")
        },
    ]
}

extension CheckContext {
    /// Pushes a subject image and two artifacts referring to it (a signature and an SBOM).
    func pushReferrers() async throws -> (subject: Fixtures.Image, artifacts: [Fixtures.Image]) {
        let subject = try await pushImage(tag: run.tag("subject-\(UInt16.random(in: .min ... .max))"))
        var artifacts: [Fixtures.Image] = []
        for kind in ["signature", "sbom"] {
            let artifact = try Fixtures.image(layers: [Digests.randomBytes(64)], extra: [
                "artifactType": "application/vnd.conformance.\(kind)",
                "subject": subject.descriptor,
                "annotations": ["org.conformance.kind": kind],
            ], algorithm: algorithm)
            for blob in artifact.blobs { try await pushBlob(blob) }
            try await pushManifest(artifact.manifest, mediaType: Fixtures.ociManifest)
            artifacts.append(artifact)
        }
        return (subject, artifacts)
    }

    /// The descriptor of `digest` in the referrers list of `subject`, failing when absent.
    func referrer(_ digest: String, orDigest other: String? = nil, of subject: String, in repository: String? = nil) async throws -> [String: Any] {
        let response = try await send(.GET, "/v2/\(repository ?? self.repository)/referrers/\(subject)")
        try skipIfUnsupported(response, "the referrers API")
        try expectStatus(response, 200, for: "GET referrers of \(subject)")
        let descriptors = try indexDescriptors(response)
        guard let descriptor = descriptors.first(where: { [digest, other].contains($0["digest"] as? String) }) else {
            throw CheckFailure(expected: "\(digest) among the referrers of \(subject)", got: "\(descriptors.compactMap { $0["digest"] as? String })")
        }
        return descriptor
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
