import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import RegistryUpstream

/// A blob's bytes as served: from storage, or arriving from an upstream.
public enum BlobContent: Sendable {
    case stored(any BlobReader)
    case arriving(BlobFetch)
}

/// Blobs of a cached upstream's namespace: fetched once, read by every client as they arrive.
extension Registry {
    /// Size of a proxied blob: the cached one's, else the upstream's answer to a `HEAD`.
    func proxiedBlobSize(_ digest: Digest, in repository: RepositoryName, route: ProxyRoute) async throws -> Int64 {
        if let size = try await metadata.blobSize(digest, in: repository) { return size }
        guard let size = try await fromUpstream(route, { try await route.upstream.client.blobSize(digest, in: route.repository) }) else {
            throw RegistryError(.blobUnknown, detail: ["digest": digest.description])
        }
        return size
    }

    /// A proxied blob: from storage when cached, otherwise fetched once from the upstream and
    /// read by every client that wants it while it arrives.
    func proxiedBlob(_ digest: Digest, in repository: RepositoryName, route: ProxyRoute) async throws -> BlobContent {
        let key = "\(repository)@\(digest)"
        // A fetch that ended, or a link, sends us back to storage; three rounds are plenty
        // unless something deletes the blob as fast as it arrives.
        for round in 0..<3 {
            if try await metadata.blobSize(digest, in: repository) != nil {
                if round == 0 { metrics.proxyHit(.blob) }
                return .stored(try await openBlob(digest, in: repository))
            }
            if round == 0 { metrics.proxyMiss(.blob) }
            let fetch = try await fromUpstream(route) {
                try await route.cache.blobFetches.join(key, digest: digest) {
                    try await self.startFetch(digest, in: repository, route: route, key: key)
                }
            }
            guard let fetch else { continue }  // linked without a transfer
            switch fetch.outcome {
            case nil where uploads.readsWhileWriting: return .arriving(fetch)
            case nil:
                // The arriving bytes cannot be read before the whole blob is stored: wait, then
                // read it stored (or report the fetch's failure).
                do {
                    try await fetch.completion()
                } catch {
                    throw Self.upstreamFailed(route, error)
                }
                continue
            case .success: continue
            case .failure(let error): throw Self.upstreamFailed(route, error)
            }
        }
        throw RegistryError(.unavailable, message: "the blob was fetched but is gone again; retry", detail: ["digest": digest.description])
    }

    /// Asks the upstream for the blob. When the registry already stores it (another repository
    /// has it), the upstream's `HEAD` is enough to link it here; otherwise the transfer starts
    /// and runs on its own, whoever reads it.
    private func startFetch(_ digest: Digest, in repository: RepositoryName, route: ProxyRoute, key: String) async throws -> BlobFetch? {
        let client = route.upstream.client
        if try await blobs.size(of: digest) != nil {
            // Linked only on the upstream's word: a client cannot reach another repository's
            // blob by naming its digest under a proxied name.
            guard try await client.blobSize(digest, in: route.repository) != nil else {
                throw RegistryError(.blobUnknown, detail: ["digest": digest.description])
            }
            if try await metadata.mountBlob(digest, from: nil, into: repository) { return nil }
        }
        guard let response = try await client.blob(digest, in: route.repository) else {
            throw RegistryError(.blobUnknown, detail: ["digest": digest.description])
        }
        guard case .value(let length)? = response.headers.first(name: "content-length").flatMap(DecimalNumber.init) else {
            throw UpstreamError.invalidResponse(url: "\(client.baseURL)/\(route.repository)", reason: "blob \(digest) sent without Content-Length")
        }
        let id = UploadID()
        let now = Date()
        try await metadata.createUpload(UploadRecord(id: id, repository: repository, createdAt: now, updatedAt: now))
        let writer: any UploadWriter
        let reader: any BlobReader
        do {
            writer = try await uploads.openWriter(id, at: 0)
            reader = try await uploads.openReader(id)
        } catch {
            try? await uploads.remove(id)
            try? await metadata.deleteUpload(id)
            throw error
        }
        let fetch = BlobFetch(digest: digest, size: length, reader: reader)
        let table = route.cache.blobFetches
        let logger = self.logger
        Task {
            do {
                try await self.transfer(response.body, into: writer, fetch: fetch, id: id, repository: repository)
                fetch.finish(.success(()))
                await table.finished(key)
                route.cache.enforceBudget()
                return
            } catch {
                logger.error("upstream blob fetch failed", metadata: ["digest": "\(digest)", "repository": "\(repository)", "error": "\(error)"])
                if error is UpstreamError || Self.upstreamIsUnavailable(error) { self.metrics.upstreamFailed() }
                try? await writer.close()
                try? await self.uploads.remove(id)
                try? await self.metadata.deleteUpload(id)
                fetch.finish(.failure(error))
            }
            await table.finished(key)
        }
        return fetch
    }

    /// Writes the upstream's body to the session file, hashing as it goes, and makes it the blob
    /// only if every byte matches the digest and length.
    private func transfer<Body: AsyncSequence>(
        _ body: Body, into writer: any UploadWriter, fetch: BlobFetch, id: UploadID, repository: RepositoryName
    ) async throws where Body.Element == ByteBuffer {
        var hasher = DigestHasher(algorithm: fetch.digest.algorithm)
        var received: Int64 = 0
        for try await chunk in body {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            received += Int64(chunk.readableBytes)
            guard received <= fetch.size else {
                throw UpstreamError.invalidResponse(url: "\(fetch.digest)", reason: "more bytes than the announced \(fetch.size)")
            }
            let before = writer.writtenLength
            try await writer.append(chunk)
            if writer.writtenLength != before { fetch.advance(to: writer.writtenLength) }
        }
        let actual = hasher.finalize()
        guard received == fetch.size, actual == fetch.digest else {
            throw UpstreamError.digestMismatch(expected: fetch.digest, actual: actual)
        }
        try await writer.finish()
        try await writer.close()
        // Linked and synced before the transaction, so that concurrent finishes do not sync one
        // after another under the write lock; inside it, only a check that the file is there.
        try await uploads.place(id, as: fetch.digest)
        let uploads = self.uploads
        try await metadata.finishUpload(id, linking: fetch.digest, size: received, into: repository) {
            try await uploads.confirmPlaced(id, as: fetch.digest)
        }
        // The blob is recorded: the session's copy of the bytes has served its purpose.
        try? await uploads.remove(id)
        recordBlobCached(fetch.digest, size: received, in: repository)
        fetch.advance(to: received)
    }
}
