import Foundation

extension Check {
    /// Checks of content that already exists (`--read-only`): only `GET` and `HEAD` requests,
    /// grouped under the features they exercise.
    static func readOnly(_ content: ConformanceConfiguration.ReadOnlyContent) -> [Check] {
        let references = content.tags + content.digests
        var checks: [Check] = []
        for reference in references {
            checks.append(Check("existingManifestIsServedConsistently(\(reference))", "end-3", .manifestPull) { context in
                _ = try await context.existingManifest(reference)
            })
        }
        for reference in references {
            checks.append(Check("existingBlobsAndChildrenAreServed(\(reference))", "end-2", .blobPull) { context in
                let tree = try await context.walk(reference)
                try context.expect(!tree.blobs.isEmpty || !tree.manifests.isEmpty, "a manifest with blobs or children", got: "neither")
                for blob in tree.blobs { try await context.expectExistingBlob(blob) }
            })
        }
        for reference in references {
            checks.append(Check("existingBlobServesRanges(\(reference))", "end-2", .blobRange) { context in
                let tree = try await context.walk(reference)
                guard let blob = tree.blobs.filter({ $0.size >= 2 && $0.size <= CheckContext.readOnlyFullGetLimit }).min(by: { $0.size < $1.size }) else {
                    throw CheckFailure(expected: "a blob of 2 bytes to 32 MiB to ask ranges of", got: "none in \(reference)")
                }
                let bytes = try await context.expectExistingBlob(blob)
                let half = blob.size / 2
                try await context.expectPartialContent(of: blob.digest, bytes, "bytes=\(half)-", first: half, last: blob.size - 1)
                try await context.expectPartialContent(of: blob.digest, bytes, "bytes=-\(half)", first: blob.size - half, last: blob.size - 1)
                try await context.expectPartialContent(of: blob.digest, bytes, "bytes=0-\(half - 1)", first: 0, last: half - 1)
                let past = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(blob.digest)", headers: [("Range", "bytes=\(blob.size + 10)-")])
                try context.expectStatus(past, 416, for: "GET with a Range starting past the end")
                try context.expectUnsatisfiableRange(past, size: blob.size)
            })
        }
        for tag in content.tags {
            checks.append(Check("existingTagIsListed(\(tag))", "end-8a", .tagsList) { context in
                let tags = try await context.allTags()
                try context.expect(tags.contains(tag), "tags/list to list \(tag)", got: "\(tags.prefix(50))")
                try context.expect(TagOrder(of: tags) != nil, "ASCIIbetical or case-insensitive order", got: "\(tags.prefix(50))")
            })
        }
        for reference in references {
            checks.append(Check("referrersOfExistingManifestAreAnIndex(\(reference))", "end-12a", .referrers) { context in
                let manifest = try await context.existingManifest(reference)
                let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/\(manifest.digest)")
                try context.skipIfUnsupported(response, "the referrers API")
                try context.expectStatus(response, 200, for: "GET referrers of \(manifest.digest)")
                try context.expectHeader(response, "Content-Type", equals: Fixtures.ociIndex)
                for descriptor in try context.indexDescriptors(response) {
                    guard let digest = descriptor["digest"] as? String else { throw CheckFailure(expected: "descriptors with a digest", got: "\(descriptor)") }
                    let head = try await context.send(.HEAD, "/v2/\(context.repository)/manifests/\(digest)", headers: CheckContext.anyManifest)
                    try context.expectStatus(head, 200, for: "HEAD of referrer \(digest)")
                }
            })
        }
        return checks
    }
}

extension CheckContext {
    static let anyManifest = [
        Fixtures.ociManifest, Fixtures.ociIndex,
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    ].map { ("Accept", $0) }

    /// Blobs larger than this are checked with `HEAD` and a range, not downloaded.
    static let readOnlyFullGetLimit = 32 * 1024 * 1024

    struct ExistingManifest {
        let bytes: [UInt8]
        let digest: String
    }

    struct BlobDescriptor {
        let digest: String
        let size: Int
    }

    /// `HEAD` and `GET` of an existing manifest agree (length, digest), the body matches the
    /// digest header (and the reference, when it is a digest), and `GET` by that digest
    /// serves the same bytes.
    func existingManifest(_ reference: String) async throws -> ExistingManifest {
        let head = try await send(.HEAD, "/v2/\(repository)/manifests/\(reference)", headers: Self.anyManifest)
        try expectStatus(head, 200, for: "HEAD of manifest \(reference)")
        try expectHeader(head, "Content-Length")
        try expectHeader(head, "Docker-Content-Digest")
        let get = try await send(.GET, "/v2/\(repository)/manifests/\(reference)", headers: Self.anyManifest)
        try expectStatus(get, 200, for: "GET of manifest \(reference)")
        try expectHeader(get, "Content-Type")
        try expectDigestHeader(get, of: get.body, for: "GET of manifest \(reference)")
        try expectHeader(head, "Content-Length", equals: "\(get.body.count)")
        try expectDigestHeader(head, of: get.body, for: "HEAD of manifest \(reference)")
        if let algorithm = DigestAlgorithm(of: reference) {
            try expect(algorithm.digest(get.body) == reference, "a body whose digest is \(reference)", got: algorithm.digest(get.body))
        }
        let digest = get.header("Docker-Content-Digest")!
        if digest != reference {
            let byDigest = try await send(.GET, "/v2/\(repository)/manifests/\(digest)", headers: Self.anyManifest)
            try expectStatus(byDigest, 200, for: "GET of manifest \(digest)")
            try expect(byDigest.body == get.body, "the same bytes by digest as by \(reference)", got: "\(byDigest.body.count) other bytes")
        }
        return ExistingManifest(bytes: get.body, digest: digest)
    }

    /// The blobs (config and layers, without external ones) and child manifests reachable from
    /// `reference`, children checked like `existingManifest` and against their descriptors.
    func walk(_ reference: String) async throws -> (manifests: [String], blobs: [BlobDescriptor]) {
        var manifests: [String] = []
        var blobs: [BlobDescriptor] = []
        var pending = [(reference, try await existingManifest(reference).bytes, 0)]
        while let (name, bytes, depth) = pending.popLast() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw CheckFailure(expected: "manifest \(name) to be JSON", got: "\(bytes.count) other bytes")
            }
            for child in (object["manifests"] as? [[String: Any]] ?? []).prefix(20) where depth < 4 {
                let descriptor = try blobDescriptor(child, in: name)
                let manifest = try await existingManifest(descriptor.digest)
                try expect(manifest.bytes.count == descriptor.size, "child \(descriptor.digest) of \(descriptor.size) bytes", got: "\(manifest.bytes.count)")
                manifests.append(descriptor.digest)
                pending.append((descriptor.digest, manifest.bytes, depth + 1))
            }
            let config = (object["config"] as? [String: Any]).map { [$0] } ?? []
            for descriptor in (config + (object["layers"] as? [[String: Any]] ?? [])).prefix(50) {
                if let urls = descriptor["urls"] as? [String], !urls.isEmpty { continue }
                let blob = try blobDescriptor(descriptor, in: name)
                if !blobs.contains(where: { $0.digest == blob.digest }) { blobs.append(blob) }
            }
        }
        return (manifests, blobs)
    }

    func blobDescriptor(_ descriptor: [String: Any], in manifest: String) throws -> BlobDescriptor {
        guard let digest = descriptor["digest"] as? String, let size = descriptor["size"] as? Int else {
            throw CheckFailure(expected: "descriptors with digest and size in \(manifest)", got: "\(descriptor)")
        }
        return BlobDescriptor(digest: digest, size: size)
    }

    /// `HEAD` of an existing blob reports its size and digest; `GET` (of blobs up to 32 MiB)
    /// serves bytes of that digest, else a range of it works. Returns what `GET` served.
    @discardableResult
    func expectExistingBlob(_ blob: BlobDescriptor) async throws -> [UInt8] {
        let head = try await send(.HEAD, "/v2/\(repository)/blobs/\(blob.digest)")
        try expectStatus(head, 200, for: "HEAD of blob \(blob.digest)")
        try expectHeader(head, "Content-Length", equals: "\(blob.size)")
        try expectHeader(head, "Docker-Content-Digest")
        guard blob.size <= Self.readOnlyFullGetLimit else {
            let partial = try await send(.GET, "/v2/\(repository)/blobs/\(blob.digest)", headers: [("Range", "bytes=0-1023")])
            try expectStatus(partial, 206, for: "GET of the first KiB of blob \(blob.digest)")
            try expect(partial.body.count == 1024, "1024 bytes", got: "\(partial.body.count)")
            return []
        }
        let get = try await send(.GET, "/v2/\(repository)/blobs/\(blob.digest)")
        try expectStatus(get, 200, for: "GET of blob \(blob.digest)")
        if let algorithm = DigestAlgorithm(of: blob.digest) {
            try expect(algorithm.digest(get.body) == blob.digest, "a body whose digest is \(blob.digest)", got: algorithm.digest(get.body))
        }
        try expectDigestHeader(get, of: get.body, for: "GET of blob \(blob.digest)")
        try expectDigestHeader(head, of: get.body, for: "HEAD of blob \(blob.digest)")
        return get.body
    }
}
