import NIOCore
import RegistryModel
import RegistryStorage

/// The outcome of a manifest push.
public struct PushedManifest: Sendable, Equatable {
    public var digest: Digest
    /// The manifest's `subject`, reported to the client in `OCI-Subject`.
    public var subject: Digest?
    /// Every tag the push pointed at the manifest, reported to the client in `OCI-Tag`.
    public var tags: [Tag] = []
}

extension Registry {
    /// Fetches a manifest. By digest the stored bytes are served whatever the client accepts;
    /// by tag, ``ContentNegotiation`` decides (a manifest list may be replaced by its entry for
    /// the default platform, an OCI index refused to a client that cannot read it).
    public func manifest(
        _ reference: Reference, in repository: RepositoryName, accepting accepted: AcceptedMediaTypes
    ) async throws -> StoredManifest {
        try await serveManifest(reference, in: repository, accepting: accepted).manifest
    }

    /// ``manifest(_:in:accepting:)``, telling also whether a cached upstream's manifest is
    /// served without the upstream's confirmation (it could not be reached).
    public func serveManifest(
        _ reference: Reference, in repository: RepositoryName, accepting accepted: AcceptedMediaTypes
    ) async throws -> ServedManifest {
        switch reference {
        case .digest(let digest):
            guard let manifest = try await manifest(digest, in: repository) else {
                throw RegistryError(.manifestUnknown, detail: ["digest": digest.description])
            }
            return ServedManifest(manifest: manifest, isStale: false)
        case .tag(let tag):
            let served: ServedManifest
            if let route = proxy?.route(for: repository) {
                served = try await proxiedManifest(taggedAs: tag, in: repository, route: route)
            } else {
                guard let manifest = try await metadata.manifest(taggedAs: tag, in: repository) else {
                    throw RegistryError(.manifestUnknown, detail: ["tag": tag.value])
                }
                served = ServedManifest(manifest: manifest, isStale: false)
            }
            uses?.pulled(tag, in: repository)
            let manifest = served.manifest
            switch ContentNegotiation.decide(
                storedMediaType: manifest.mediaType, accepted: accepted, defaultPlatform: options.defaultPlatform)
            {
            case .serve:
                return served
            case .refuse(let reason):
                throw RegistryError(.manifestUnknown, message: "no acceptable manifest for this request", detail: ["tag": tag.value, "reason": reason])
            case .serveChild(let platform):
                let child = try await platformEntry(of: manifest, for: platform, tag: tag, in: repository)
                return ServedManifest(manifest: child, isStale: served.isStale)
            }
        }
    }

    /// A manifest by digest, fetched from the upstream in a cached upstream's namespace.
    private func manifest(_ digest: Digest, in repository: RepositoryName) async throws -> StoredManifest? {
        if let route = proxy?.route(for: repository) {
            return try await proxiedManifest(digest, in: repository, route: route)
        }
        return try await metadata.manifest(digest, in: repository)
    }

    private func platformEntry(
        of list: StoredManifest, for platform: Platform, tag: Tag, in repository: RepositoryName
    ) async throws -> StoredManifest {
        let parsed = try Manifest(parsing: Array(list.content.readableBytesView), contentType: list.mediaType)
        let entry = parsed.manifests.first { $0.platform.map(platform.isSatisfied(by:)) ?? false }
        guard let entry, let child = try await manifest(entry.digest, in: repository) else {
            throw RegistryError(
                .manifestUnknown, message: "no acceptable manifest for this request",
                detail: [
                    "tag": tag.value,
                    "reason": "the tag is a manifest list, the client does not accept manifest lists, and the list has no \(platform) entry",
                ])
        }
        return child
    }

    /// Most tags one manifest push may set (`PUT .../manifests/<digest>?tag=...`). The spec asks
    /// for at least 10; 64 keeps the request line under 9 KiB with the longest tags (128
    /// bytes each), within what proxies in front of a registry accept.
    public static let maximumTagsPerPush = 64

    /// The tags a push names in `tag` query parameters, validated before anything is read or
    /// stored: past ``maximumTagsPerPush`` is `414 TOO_MANY_TAGS`, an invalid one is
    /// `400 TAG_INVALID` naming it.
    public static func tagParameters(_ values: [String]) throws(RegistryError) -> [Tag] {
        guard values.count <= maximumTagsPerPush else {
            throw RegistryError(
                .tooManyTags, message: "a manifest push may set at most \(maximumTagsPerPush) tags; this one names \(values.count)",
                detail: ["limit": "\(maximumTagsPerPush)"])
        }
        return try values.map { value throws(RegistryError) in
            guard let tag = Tag(value) else {
                throw RegistryError(.tagInvalid, message: "invalid tag in the tag parameters; nothing was stored", detail: ["tag": value])
            }
            return tag
        }
    }

    /// Stores a manifest byte-exact after validating it, and points at it the reference's tag
    /// (when pushed by tag) and every one of `tags` (the spec's `?tag=` parameters), all in one
    /// transaction: every tag moves, or nothing is stored. Pushed by digest, the manifest keeps
    /// the digest's algorithm (a sha512 reference stores and serves it under sha512). A tag an
    /// immutable-tag rule protects may only be pushed again with the manifest it points at
    /// (`isAdmin`: see ``keepingImmutableTags(in:isAdmin:change:_:)``). `actor` (the user) is
    /// named in the push's event notifications.
    public func putManifest(
        _ body: ByteBuffer, contentType: String?, reference: Reference, tags extraTags: [Tag] = [], in repository: RepositoryName,
        isAdmin: Bool = false, actor: String? = nil
    ) async throws -> PushedManifest {
        try requireWritable(repository)
        guard body.readableBytes <= options.maxManifestBytes else {
            throw RegistryError(.manifestTooLarge, detail: ["limit": "\(options.maxManifestBytes)"])
        }
        guard extraTags.count <= Self.maximumTagsPerPush else {
            throw RegistryError(.tooManyTags, detail: ["limit": "\(Self.maximumTagsPerPush)"])
        }
        let bytes = Array(body.readableBytesView)
        let manifest = try Manifest(parsing: bytes, contentType: contentType)
        var tags: [Tag]
        let digest: Digest
        switch reference {
        case .tag(let pushedTag):
            tags = [pushedTag]
            digest = DigestHasher.digest(of: bytes)
        case .digest(let pushedDigest):
            tags = []
            digest = DigestHasher.digest(of: bytes, algorithm: pushedDigest.algorithm)
            guard digest == pushedDigest else {
                throw RegistryError(
                    .digestInvalid, message: "manifest digest does not match the reference",
                    detail: ["digest": pushedDigest.description, "computed": digest.description])
            }
        }
        for tag in extraTags where !tags.contains(tag) { tags.append(tag) }
        let record = Self.record(of: manifest, digest: digest, content: body)
        try await requireBlobFiles(record.blobReferences)
        let events = pushEvents(record, tags: tags, in: repository, actor: actor)
        let outcome = try await keepingImmutableTags(in: repository, isAdmin: isAdmin, change: .moved) { frozen in
            try await metadata.putManifest(record, tags: tags, in: repository, events: events, keeping: frozen)
        }
        switch outcome {
        case .stored:
            return PushedManifest(digest: digest, subject: manifest.subject?.digest, tags: tags)
        case .missingReferences(let missing):
            throw RegistryError(
                .manifestBlobUnknown,
                message: "manifest references \(missing.count) blob(s) or manifest(s) not in the repository",
                detail: ["digest": missing[0].description])
        }
    }

    /// Refuses a manifest whose blobs have no file, even where a record says they are stored (a
    /// root damaged outside the registry): a manifest accepted now would be unpullable forever.
    private func requireBlobFiles(_ digests: [Digest]) async throws {
        for digest in digests where try await blobs.size(of: digest) == nil {
            guard try await metadata.blobSize(digest) != nil else {
                throw RegistryError(
                    .manifestBlobUnknown, message: "manifest references a blob that is not stored",
                    detail: ["digest": digest.description])
            }
            logger.error("blob recorded in metadata is missing from storage", metadata: ["digest": "\(digest)"])
            throw RegistryError(
                .manifestBlobUnknown,
                message: "manifest references a blob whose file is missing from the registry's storage (an operator can run `registry scrub --repair`)",
                detail: ["digest": digest.description])
        }
    }

    /// The record a validated manifest is stored as, with the edges to what it references.
    static func record(of manifest: Manifest, digest: Digest, content: ByteBuffer) -> NewManifest {
        NewManifest(
            digest: digest,
            mediaType: manifest.mediaType,
            content: content,
            blobReferences: unique(manifest.referencedBlobs.filter(mustBeInRepository).map(\.digest)),
            manifestReferences: unique(manifest.manifests.map(\.digest)),
            subject: manifest.subject?.digest,
            artifactType: manifest.effectiveArtifactType,
            annotations: manifest.annotations)
    }

    /// Deletes a repository's tags, manifests and blob links. Its blobs are reclaimed by the
    /// next garbage collection, unless other repositories use them.
    public func deleteRepository(_ repository: RepositoryName, isAdmin: Bool = false, actor: String? = nil) async throws {
        try requireDeletesEnabled(repository)
        let events = repositoryDeletionEvents(repository, actor: actor)
        let deleted = try await keepingImmutableTags(in: repository, isAdmin: isAdmin, change: .deletedWithRepository) { frozen in
            try await metadata.deleteRepository(repository, events: events, keeping: frozen)
        }
        guard deleted else {
            throw RegistryError(.nameUnknown, detail: ["name": repository.value])
        }
    }

    /// Deletes a manifest and its tags (by digest) or only the tag (by tag), unless an
    /// immutable-tag rule protects the tag (or one of the manifest's tags).
    public func deleteManifest(
        _ reference: Reference, in repository: RepositoryName, isAdmin: Bool = false, actor: String? = nil
    ) async throws {
        try requireDeletesEnabled(repository)
        switch reference {
        case .digest(let digest):
            let events = await manifestDeletionEvents(digest, in: repository, actor: actor)
            let deleted = try await keepingImmutableTags(in: repository, isAdmin: isAdmin, change: .deletedWithManifest) { frozen in
                try await metadata.deleteManifest(digest, in: repository, events: events, keeping: frozen)
            }
            guard deleted else {
                throw RegistryError(.manifestUnknown, detail: ["digest": digest.description])
            }
        case .tag(let tag):
            let events = await tagDeletionEvents(tag, in: repository, actor: actor)
            let deleted = try await keepingImmutableTags(in: repository, isAdmin: isAdmin, change: .deleted) { frozen in
                try await metadata.deleteTag(tag, in: repository, events: events, keeping: frozen)
            }
            guard deleted else {
                throw RegistryError(.manifestUnknown, detail: ["tag": tag.value])
            }
        }
    }

    /// Layers that image-spec lets registries not hold ("non-distributable", Docker's
    /// "foreign" layers) are not required to be present.
    private static func mustBeInRepository(_ descriptor: Descriptor) -> Bool {
        !(descriptor.mediaType.contains("nondistributable") || descriptor.mediaType.contains("foreign"))
    }

    private static func unique(_ digests: [Digest]) -> [Digest] {
        var seen = Set<Digest>()
        return digests.filter { seen.insert($0).inserted }
    }
}
