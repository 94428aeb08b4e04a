import NIOCore
import RegistryCore
import RegistryModel
import RegistryStorage

extension ClusterMigration {
    /// What became of one of a repository's blob links.
    enum BlobOutcome: Sendable {
        /// The destination links and stores it already.
        case present
        /// Stored for another repository: linked here, no bytes moved.
        case mounted
        case copied
        /// The source cannot give its bytes: the reason.
        case failed(String)
    }

    /// Size of the reads from the source root (and so of the writes into an upload).
    static let chunkSize = 1 << 20

    /// The repository's blobs, ``Options/parallelBlobs`` at a time.
    func copyBlobs(of plan: RepositoryPlan, state: inout RunState) async throws {
        var pending = plan.blobs.filter { !state.unusable.contains($0.digest) }.makeIterator()
        try await withThrowingTaskGroup(of: (BlobRecord, BlobOutcome).self) { group in
            func startNext() {
                guard let blob = pending.next() else { return }
                group.addTask { (blob, try await copyBlob(blob, into: plan.name)) }
            }
            for _ in 0..<options.parallelBlobs { startNext() }
            while let (blob, outcome) = try await group.next() {
                record(outcome, of: blob, in: plan.name, state: &state)
                if let limit = options.stopAfterCopiedBlobs, state.report.blobsCopied >= limit {
                    throw MigrationError.stopped(afterCopiedBlobs: state.report.blobsCopied)
                }
                startNext()
            }
        }
    }

    private func record(_ outcome: BlobOutcome, of blob: BlobRecord, in repository: RepositoryName, state: inout RunState) {
        let first = state.counted.insert(blob.digest).inserted
        switch outcome {
        case .copied:
            state.report.blobsCopied += 1
            state.report.bytesCopied += blob.size
        case .present, .mounted:
            if case .mounted = outcome { state.report.linksMounted += 1 }
            if first {
                state.report.blobsPresent += 1
                state.report.bytesPresent += blob.size
            }
        case .failed(let reason):
            state.unusable.insert(blob.digest)
            state.report.failures.append("blob \(blob.digest) (linked by \(repository)): \(reason)")
        }
        progress.blobDone(blob.digest, size: blob.size, counts: first)
    }

    /// Skips a blob the destination has, mounts one it stores for another repository, and
    /// otherwise streams it from the source root into an upload, which keeps it only if its
    /// bytes hash to its digest. Throws only for the destination's failures (the run stops).
    private func copyBlob(_ blob: BlobRecord, into repository: RepositoryName) async throws -> BlobOutcome {
        let (registry, metadata, stored) = (endpoints.destination, endpoints.destinationMetadata, endpoints.destinationStorage.blobs)
        if try await metadata.blobSize(blob.digest, in: repository) != nil, try await stored.size(of: blob.digest) != nil {
            return .present
        }
        if try await metadata.blobSize(blob.digest) != nil, try await registry.mountBlob(blob.digest, from: nil, into: repository) {
            return .mounted
        }
        guard let reader = try await endpoints.source.storage.blobs.open(blob.digest) else {
            return .failed("its file is missing from the source root")
        }
        let (progress, digest) = (self.progress, blob.digest)
        let body = CountedChunks(base: reader.chunks(in: 0..<reader.size, chunkSize: Self.chunkSize)) { progress.moving(digest, bytes: $0) }
        do {
            _ = try await registry.uploadMonolithic(body, digest: digest, in: repository)
            try await reader.close()
            return .copied
        } catch let error as RegistryError where error.code == .digestInvalid {
            try? await reader.close()
            return .failed("its bytes in the source root do not match the digest (they hash to \(error.detail?["computed"] ?? "another digest"))")
        } catch let error as SourceReadFailure {
            try? await reader.close()
            return .failed("reading its file in the source root failed: \(error.underlying)")
        } catch {
            try? await reader.close()
            throw error
        }
    }
}

/// A read of the source root failed: that blob's failure, not the destination's (which stops the run).
struct SourceReadFailure: Error {
    let underlying: any Error
}

/// A blob's chunks, telling `observe` how many bytes went through so far; a failed read is a
/// ``SourceReadFailure``.
struct CountedChunks: AsyncSequence {
    typealias Element = ByteBuffer
    let base: BlobChunks
    let observe: @Sendable (Int64) -> Void

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), observe: observe) }

    struct Iterator: AsyncIteratorProtocol {
        var base: BlobChunks.Iterator
        let observe: @Sendable (Int64) -> Void
        var count: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            let next: ByteBuffer?
            do {
                next = try await base.next()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw SourceReadFailure(underlying: error)
            }
            guard let chunk = next else { return nil }
            count += Int64(chunk.readableBytes)
            observe(count)
            return chunk
        }
    }
}
