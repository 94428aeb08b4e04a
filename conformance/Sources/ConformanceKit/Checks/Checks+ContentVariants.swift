extension Check {
    /// One check per content variant: push it (blobs, then manifests by digest, then tags),
    /// and read every part back the ways a client does.
    static func contentVariants(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.contentVariants.with(algorithm)
        return ContentVariant.all.map { variant in
            Check(variant.name, "end-7", feature) { context in
                var content = VariantContent(algorithm: algorithm, tagSuffix: "\(algorithm)-\(context.run.id)")
                try variant.build(&content)
                try await context.pushAndVerify(content)
            }
        }
    }
}

extension CheckContext {
    func pushAndVerify(_ content: VariantContent) async throws {
        for blob in content.blobs { try await pushBlob(blob) }
        for manifest in content.manifests {
            let response = try await putManifest(manifest.bytes, mediaType: manifest.mediaType, reference: manifest.digest)
            try await expectManifestCreated(response, manifest.bytes, by: "PUT of a \(manifest.bytes.count)-byte manifest by digest", mediaType: manifest.mediaType)
            try expectHeader(response, "Docker-Content-Digest", equals: manifest.digest)
            if let subject = manifest.subject {
                try expectHeader(response, "OCI-Subject", equals: subject)
            }
        }
        for (tag, index) in content.tags {
            let manifest = content.manifests[index]
            let response = try await putManifest(manifest.bytes, mediaType: manifest.mediaType, reference: tag)
            try await expectManifestCreated(response, manifest.bytes, by: "PUT of tag \(tag)", mediaType: manifest.mediaType)
        }

        for manifest in content.manifests {
            try await expectManifest(manifest.digest, equals: manifest.bytes, mediaType: manifest.mediaType)
        }
        for (tag, index) in content.tags {
            try await expectManifest(tag, equals: content.manifests[index].bytes, mediaType: content.manifests[index].mediaType)
        }
        for blob in content.blobs {
            let digest = self.digest(blob)
            try await expectBlobHead(digest, of: blob)
            try await expectBlob(digest, equals: blob)
        }
        if !content.tags.isEmpty {
            let listed = try await allTags()
            let missing = content.tags.map(\.tag).filter { !listed.contains($0) }
            try expect(missing.isEmpty, "tags/list to list every pushed tag", got: "\(missing) missing")
        }
        for manifest in content.manifests {
            guard let subject = manifest.subject else { continue }
            // A registry may list a sha512-pushed referrer under its canonical sha256 digest.
            let descriptor = try await referrer(manifest.digest, orDigest: Digests.sha256(manifest.bytes), of: subject)
            try expect(
                descriptor["artifactType"] as? String == manifest.referrerArtifactType,
                "artifactType \(manifest.referrerArtifactType ?? "absent") for referrer \(manifest.digest)",
                got: "\(descriptor["artifactType"] ?? "absent")")
        }
    }
}
