import Foundation
import NIOCore
import RegistryModel
import RegistryStorage

/// Where an upload session stands: the id for its URL and how many bytes it holds.
public struct UploadStatus: Sendable, Equatable {
    public var id: UploadID
    public var length: Int64
}

extension Registry {
    /// Largest chunk written in one trip to the disk; larger ones stream through an ``UploadWriter``.
    static let writeCoalescingBytes = 1 << 20

    /// Opens a session (`POST /blobs/uploads/`).
    public func startUpload(in repository: RepositoryName, algorithm: DigestAlgorithm = .sha256) async throws -> UploadStatus {
        try requireWritable(repository)
        let id = UploadID()
        let now = Date()
        // Held while its record is written: the expiry janitor, which may see the record before
        // this returns (a slow commit can outlast a short expiry), must leave it alone.
        await sessions.begin(id)
        do {
            // The data file comes with the first write: an empty session is only this record.
            try await metadata.createUpload(UploadRecord(id: id, repository: repository, createdAt: now, updatedAt: now))
        } catch {
            await sessions.release(id, state: nil)
            throw error
        }
        await sessions.release(id, state: .init(repository: repository, hasher: DigestHasher(algorithm: algorithm), length: 0))
        return UploadStatus(id: id, length: 0)
    }

    /// Uploads a whole blob in one request (`POST ?digest=` with a body). With the body's
    /// `declaredLength` (`Content-Length`), one that would pass the repository's storage quota
    /// is refused before a session exists or a byte is stored.
    public func uploadMonolithic<Body: AsyncSequence>(
        _ body: Body, digest: Digest, in repository: RepositoryName, declaredLength: Int64? = nil
    ) async throws -> Digest where Body.Element == ByteBuffer {
        var early: EarlyQuotaCheck?
        if let declaredLength {
            try requireWritable(repository)
            early = EarlyQuotaCheck(result: try await checkQuota(adding: declaredLength, blob: digest, in: repository))
        }
        let status = try await startUpload(in: repository, algorithm: digest.algorithm)
        do {
            return try await completeUpload(
                status.id, in: repository, digest: digest, range: nil, finalChunk: body, declaredLength: declaredLength,
                quotaCheckedEarly: early)
        } catch {
            // The session was this request's alone: nothing of it may outlive a failure.
            await abandon(status.id)
            throw error
        }
    }

    /// Reports a session's progress (`GET /blobs/uploads/<id>`).
    public func uploadStatus(_ id: UploadID, in repository: RepositoryName) async throws -> UploadStatus {
        guard let record = try await metadata.upload(id), record.repository == repository else {
            throw RegistryError(.blobUploadUnknown, detail: ["session": id.value])
        }
        return UploadStatus(id: id, length: record.committedLength)
    }

    /// Appends one chunk (`PATCH`). With a range, the chunk must start where the session ends
    /// (`416 RANGE_INVALID` otherwise, with the session's current range).
    public func appendChunk<Body: AsyncSequence>(
        _ body: Body, to id: UploadID, in repository: RepositoryName, range: ChunkRange?
    ) async throws -> UploadStatus where Body.Element == ByteBuffer {
        try requireWritable(repository)
        return try await withSession(id, in: repository) { state in
            let start = state.length
            try await self.append(body, to: id, state: &state, range: range)
            // Only if nobody moved the session meanwhile: its expiry, or a request on another
            // replica writing at the same offset. Then this request's bytes are not acknowledged;
            // the data file may hold either writer's bytes, and the state here is not to be kept.
            guard try await self.metadata.updateUpload(id, committedLength: state.length, from: start) else {
                throw SessionMovedElsewhere()
            }
            return (UploadStatus(id: id, length: state.length), keep: true)
        }
    }

    /// Completes a session (`PUT ?digest=`), with an optional final chunk: verifies the digest
    /// and makes the data the blob, or stores nothing and ends the session. A blob that would
    /// take the repository past its storage quota is refused and the session's bytes discarded:
    /// before the final chunk is read when its `declaredLength` is known, otherwise once the
    /// digest is verified, before the blob is linked.
    public func completeUpload<Body: AsyncSequence>(
        _ id: UploadID, in repository: RepositoryName, digest: Digest, range: ChunkRange?, finalChunk: Body,
        declaredLength: Int64? = nil
    ) async throws -> Digest where Body.Element == ByteBuffer {
        try await completeUpload(
            id, in: repository, digest: digest, range: range, finalChunk: finalChunk, declaredLength: declaredLength,
            quotaCheckedEarly: nil)
    }

    /// The quota check an upload made before its data was read (nil: nothing to count), so
    /// that completing it does not ask again. The link's own check still decides.
    struct EarlyQuotaCheck {
        var result: QuotaCheck?
    }

    private func completeUpload<Body: AsyncSequence>(
        _ id: UploadID, in repository: RepositoryName, digest: Digest, range: ChunkRange?, finalChunk: Body,
        declaredLength: Int64?, quotaCheckedEarly early: EarlyQuotaCheck?
    ) async throws -> Digest where Body.Element == ByteBuffer {
        try requireWritable(repository)
        return try await withSession(id, in: repository) { state in
            var early = early
            if early == nil, let declaredLength {
                early = try await self.discardingOnRefusal(id) {
                    let (total, overflow) = state.length.addingReportingOverflow(declaredLength)
                    return EarlyQuotaCheck(result: try await self.checkQuota(adding: overflow ? .max : total, blob: digest, in: repository))
                }
            }
            try await self.append(finalChunk, to: id, state: &state, range: range)
            var hasher = state.hasher
            if hasher.algorithm != digest.algorithm {
                // The session hashed with another algorithm than the client's digest names: the
                // only case where the data is read back.
                hasher = try await self.rehash(id, continuing: DigestHasher(algorithm: digest.algorithm), over: 0..<state.length)
            }
            let actual = hasher.finalize()
            guard actual == digest else {
                try? await self.discard(id)
                throw RegistryError(
                    .digestInvalid, detail: ["digest": digest.description, "computed": actual.description])
            }
            let length = state.length
            // Without an early answer, one now, before the file is put in place: the usage the
            // warning needs, and in the common case a refusal that leaves no file behind.
            let quota: QuotaCheck?
            if let early {
                quota = early.result
            } else {
                quota = try await self.discardingOnRefusal(id) { try await self.checkQuota(adding: length, blob: digest, in: repository) }
            }
            if state.length == 0 {
                // Nothing was written, so no data file exists yet: the empty blob needs one.
                try await self.uploads.writeDurably(ByteBuffer(), to: id, at: 0)
            }
            // Linked and synced before the transaction, so that concurrent finishes do not sync
            // one after another under the write lock; inside it, only a check that the file is
            // still there (a collection may have removed that digest's file in between).
            try await self.uploads.place(id, as: digest)
            let uploads = self.uploads
            // Refused here (concurrent uploads took the room meanwhile), the placed file has no
            // record and goes with the next collection's unrecorded files.
            try await self.discardingOnRefusal(id) {
                try await self.linkingWithinQuota(repository, adding: length) { limit in
                    try await self.metadata.finishUpload(id, linking: digest, size: length, into: repository, limit: limit) {
                        try await uploads.confirmPlaced(id, as: digest)
                    }
                }
            }
            // Recorded: the session's own name for the bytes goes. A crash before this line
            // leaves a file no session owns, removed at the next start.
            try? await uploads.remove(id)
            self.noteQuotaUse(quota, in: repository)
            return (digest, keep: false)
        }
    }

    /// Cancels a session and deletes its data (`DELETE /blobs/uploads/<id>`).
    public func cancelUpload(_ id: UploadID, in repository: RepositoryName) async throws {
        try requireWritable(repository)
        try await withSession(id, in: repository) { _ in
            try await self.discard(id)
            return ((), keep: false)
        }
    }

    /// Deletes sessions nobody wrote to within ``RegistryOptions/uploadExpiry``, and data files
    /// that no session record owns. Returns how many were removed.
    @discardableResult
    public func expireUploads(now: Date = Date()) async throws -> Int {
        let expiry = options.uploadExpiry
        let cutoff = now.addingTimeInterval(-Double(expiry.components.seconds))
        var removed = 0
        for record in try await metadata.uploads(notUpdatedSince: cutoff) {
            // Held like a request holds it, so that no request loads the session while it goes.
            let held: UploadSessionTable.State?
            switch await sessions.reserve(record.id) {
            case .busy: continue
            case .held(let state): held = state
            case .mustLoad: held = nil
            }
            do {
                // A request may have written to it, or finished it, since the list was read.
                guard let current = try await metadata.upload(record.id), current.updatedAt < cutoff else {
                    await sessions.release(record.id, state: held)
                    continue
                }
                try await discard(record.id)
            } catch {
                await sessions.release(record.id, state: held)
                throw error
            }
            await sessions.release(record.id, state: nil)
            removed += 1
        }
        return removed
    }

    /// Removes data files with no session record (left by a crash between the file removal and
    /// the record's deletion when a session ends). Run at start-up, before requests arrive.
    public func removeOrphanUploadFiles() async throws {
        for id in try await uploads.allSessions() where try await metadata.upload(id) == nil {
            try await uploads.remove(id)
        }
    }

    // MARK: Internals

    /// Runs `body` with exclusive use of a session's state, loading it after a restart.
    /// `keep: false` forgets the session when `body` succeeds.
    private func withSession<T: Sendable>(
        _ id: UploadID, in repository: RepositoryName,
        _ body: (inout UploadSessionTable.State) async throws -> (T, keep: Bool)
    ) async throws -> T {
        let held: UploadSessionTable.State?
        switch await sessions.reserve(id) {
        case .busy:
            throw RegistryError(.blobUploadInvalid, message: "another request is writing to this upload", detail: ["session": id.value])
        case .held(let state):
            held = state
        case .mustLoad:
            held = nil
        }
        // Another process sharing the database (a replica) may have written to the session since
        // this one last did: its record then holds a greater length, and the state kept here
        // (length, running hash) is behind; it catches up by hashing only the bytes written
        // since. One indexed read per request.
        var state: UploadSessionTable.State
        do {
            guard let record = try await metadata.upload(id) else {
                throw RegistryError(.blobUploadUnknown, detail: ["session": id.value])
            }
            if let held, record.committedLength == held.length {
                state = held
            } else {
                state = try await loadSession(record, catchingUp: held)
            }
        } catch {
            await sessions.release(id, state: nil)
            throw error
        }
        guard state.repository == repository else {
            await sessions.release(id, state: state)
            throw RegistryError(.blobUploadUnknown, detail: ["session": id.value])
        }
        do {
            let (result, keep) = try await body(&state)
            await sessions.release(id, state: keep ? state : nil)
            return result
        } catch is SessionMovedElsewhere {
            // What this process holds of the session is stale: the next request reloads it.
            await sessions.release(id, state: nil)
            guard (try? await metadata.upload(id)) != nil else {
                throw RegistryError(.blobUploadUnknown, detail: ["session": id.value])
            }
            throw RegistryError(
                .blobUploadInvalid,
                message: "another request wrote to this upload at the same time; ask for its status (GET) and resume from the Range it reports",
                detail: ["session": id.value])
        } catch {
            // `append` has rolled `state` back to the session's last committed length.
            let stillExists = (try? await metadata.upload(id)) != nil
            await sessions.release(id, state: stillExists ? state : nil)
            throw error
        }
    }

    /// Rebuilds a session this process has not seen (after a restart), or has seen only up to
    /// `held` (another replica wrote to it since): the data is cut back to the length last
    /// acknowledged to the client, and the hash recomputed from it, from `held` on when given
    /// (the committed length only grows, and the bytes below it never change).
    private func loadSession(_ record: UploadRecord, catchingUp held: UploadSessionTable.State?) async throws -> UploadSessionTable.State {
        let id = record.id
        let fileLength = try await uploads.length(of: id) ?? 0
        let length = min(record.committedLength, fileLength)
        if fileLength != length {
            let writer = try await uploads.openWriter(id, at: length)
            try await writer.truncate(to: length)
            try await writer.close()
        }
        let start = held.flatMap { $0.length <= length ? $0 : nil }
        let hasher = try await rehash(
            id, continuing: start?.hasher ?? DigestHasher(algorithm: .sha256), over: (start?.length ?? 0)..<length)
        return .init(repository: record.repository, hasher: hasher, length: length)
    }

    /// `hasher` fed the session's bytes `range`.
    private func rehash(_ id: UploadID, continuing hasher: DigestHasher, over range: Range<Int64>) async throws -> DigestHasher {
        var hasher = hasher
        if range.isEmpty { return hasher }
        let reader = try await uploads.openReader(id)
        do {
            var read: Int64 = 0
            for try await chunk in reader.chunks(in: range, chunkSize: 1 << 20) {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                read += Int64(chunk.readableBytes)
            }
            guard read == Int64(range.count) else { throw StorageError.truncatedFile(expected: range.upperBound, found: range.lowerBound + read) }
        } catch {
            try? await reader.close()
            throw error
        }
        try await reader.close()
        return hasher
    }

    /// Runs a quota check; when it refuses, the session and its bytes go before the refusal is
    /// thrown (the client cannot complete it, and its bytes must not hold space meanwhile).
    private func discardingOnRefusal<T>(_ id: UploadID, _ check: () async throws -> T) async throws -> T {
        do {
            return try await check()
        } catch let error as RegistryError where error.code == .denied {
            try? await discard(id)
            throw error
        }
    }

    private func discard(_ id: UploadID) async throws {
        try await uploads.remove(id)
        try await metadata.deleteUpload(id)
    }

    /// Discards a session after a failed request that owned it alone, unless another request
    /// has taken it up meanwhile.
    private func abandon(_ id: UploadID) async {
        if case .busy = await sessions.reserve(id) { return }
        try? await discard(id)
        await sessions.release(id, state: nil)
    }

    /// Streams `body` onto the end of the session's data, hashing as it goes. A chunk that fits
    /// in ``writeCoalescingBytes`` (every small blob) is written in one trip to the disk; a larger
    /// one goes through an ``UploadWriter``, whose writes overlap the hashing. All or nothing: on
    /// any failure (including the client going away) the file and hash are rolled back to where
    /// the chunk began.
    private func append<Body: AsyncSequence>(
        _ body: Body, to id: UploadID, state: inout UploadSessionTable.State, range: ChunkRange?
    ) async throws where Body.Element == ByteBuffer {
        // A `ChunkRange` is never empty or reversed (its initialiser refuses those).
        if let range, range.start != state.length {
            throw RegistryError(
                .rangeInvalid,
                message: "chunk range \(range.start)-\(range.end) does not continue the upload at offset \(state.length)",
                headers: [("Range", Self.rangeHeader(length: state.length))])
        }
        let start = state.length
        let hasherAtStart = state.hasher
        metrics.uploadStarted()
        defer { metrics.uploadEnded() }
        var writer: (any UploadWriter)?
        var pending = ByteBuffer()
        var received: Int64 = 0
        do {
            for try await chunk in body {
                guard chunk.readableBytes > 0 else { continue }
                chunk.withUnsafeReadableBytes { state.hasher.update(bufferPointer: $0) }
                received += Int64(chunk.readableBytes)
                if let writer {
                    try await writer.append(chunk)
                    continue
                }
                pending.writeImmutableBuffer(chunk)
                if pending.readableBytes >= Self.writeCoalescingBytes {
                    let opened = try await uploads.openWriter(id, at: start)
                    writer = opened
                    try await opened.append(pending)
                    pending = ByteBuffer()
                }
            }
            if let range, received != range.length {
                throw RegistryError(
                    .sizeInvalid, message: "Content-Range announced \(range.length) bytes but the body had \(received)")
            }
            if let writer {
                try await writer.finish()
                try await writer.close()
            } else if received > 0 {
                try await uploads.writeDurably(pending, to: id, at: start)
            }
            state.length = start + received
            metrics.uploaded(received, to: state.repository.value)
        } catch {
            state.length = start
            state.hasher = hasherAtStart
            if let writer {
                try? await writer.truncate(to: start)
                try? await writer.close()
            }
            throw error
        }
    }

    /// The `Range` header value for a session holding `length` bytes: `0-<last offset>`, which
    /// the reference registry (and so every client) writes as `0-0` for an empty session.
    public static func rangeHeader(length: Int64) -> String {
        "0-\(max(length - 1, 0))"
    }
}

/// A chunk's record could not be moved: the session's record changed or went while the chunk was
/// written (see ``Registry/appendChunk(_:to:in:range:)``).
private struct SessionMovedElsewhere: Error {}
