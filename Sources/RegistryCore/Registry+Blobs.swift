import RegistryModel
import RegistryStorage

extension Registry {
    /// Size of a blob the repository may read; `BLOB_UNKNOWN` otherwise.
    public func blobSize(_ digest: Digest, in repository: RepositoryName) async throws -> Int64 {
        if let route = proxy?.route(for: repository) {
            return try await proxiedBlobSize(digest, in: repository, route: route)
        }
        guard let size = try await metadata.blobSize(digest, in: repository),
              try await uses?.used(digest, in: repository) ?? true
        else {
            throw RegistryError(.blobUnknown, detail: ["digest": digest.description])
        }
        return size
    }

    /// Opens a blob the repository may read; `BLOB_UNKNOWN` otherwise.
    public func openBlob(_ digest: Digest, in repository: RepositoryName) async throws -> any BlobReader {
        _ = try await blobSize(digest, in: repository)
        guard let reader = try await blobs.open(digest) else {
            logger.error("blob recorded in metadata is missing from storage", metadata: ["digest": "\(digest)"])
            throw RegistryError(.blobUnknown, detail: ["digest": digest.description])
        }
        return reader
    }

    /// Where a client can fetch a blob the repository may read straight from the storage, when
    /// downloads are redirected (``RegistryOptions/blobRedirectLifetime``, an object store); nil
    /// when the bytes are to be streamed. `BLOB_UNKNOWN` for a blob the repository may not read:
    /// a URL is only handed out after the same checks as the bytes.
    public func blobRedirect(_ digest: Digest, in repository: RepositoryName) async throws -> String? {
        guard let lifetime = options.blobRedirectLifetime, let store = blobs as? any RedirectingBlobStore,
              proxy?.route(for: repository) == nil
        else { return nil }
        _ = try await blobSize(digest, in: repository)
        return try store.redirectURL(for: digest, expiresIn: lifetime)
    }

    /// A blob's bytes for a download: stored, or (in a cached upstream's namespace) arriving.
    public func blobContent(_ digest: Digest, in repository: RepositoryName) async throws -> BlobContent {
        if let route = proxy?.route(for: repository) {
            return try await proxiedBlob(digest, in: repository, route: route)
        }
        return .stored(try await openBlob(digest, in: repository))
    }

    /// Removes the repository's access to a blob. The bytes stay until garbage collection finds
    /// that nothing else uses them.
    public func deleteBlob(_ digest: Digest, in repository: RepositoryName) async throws {
        try requireDeletesEnabled(repository)
        guard try await metadata.unlinkBlob(digest, from: repository) else {
            throw RegistryError(.blobUnknown, detail: ["digest": digest.description])
        }
    }

    /// Makes a blob readable from `repository` without uploading it again. With `source`, only
    /// a blob that repository may read is mounted; without, any blob the registry stores.
    /// Returns false when there is nothing to mount (the caller then starts a normal upload).
    /// A mount that would take `repository` past its storage quota is refused (`403 DENIED`).
    public func mountBlob(
        _ digest: Digest, from source: RepositoryName?, into repository: RepositoryName, actor: String? = nil
    ) async throws -> Bool {
        try requireWritable(repository)
        // A record whose file is gone (a damaged root) must not spread to another repository.
        guard let size = try await blobs.size(of: digest) else { return false }
        var quota: QuotaCheck?
        if options.quotas.quota(for: repository) != nil {
            // Only a blob the mount could take counts (the store checks again, atomically).
            if let source, try await metadata.blobSize(digest, in: source) == nil { return false }
            quota = try await checkQuota(adding: size, blob: digest, in: repository)
        }
        let mounted = try await linkingWithinQuota(repository, adding: size) { limit in
            try await metadata.mountBlob(digest, from: source, into: repository, limit: limit)
        }
        guard mounted else { return false }
        noteQuotaUse(quota, in: repository)
        recordMount(digest, size: size, from: source, into: repository, actor: actor)
        return true
    }
}
