import Foundation
import NIOCore
import RegistryModel
import RegistryUpstream

/// Copies a repository's tags from a registry to a destination, manifests byte-exact (every
/// digest unchanged). Blobs and manifests the destination already has are skipped (or mounted
/// when it can), so a run that was interrupted resumes where it stopped, at blob granularity,
/// and a second run copies only what changed.
public struct Mirror: Sendable {
    public struct Options: Sendable {
        public var tags: TagFilter
        /// Only this platform's image of a multi-platform tag (the tag then points at that
        /// image); nil copies indexes whole.
        public var platform: Platform?
        public var dryRun: Bool
        /// Blobs copied at once.
        public var parallelTransfers: Int

        public init(tags: TagFilter = .all, platform: Platform? = nil, dryRun: Bool = false, parallelTransfers: Int = 4) {
            self.tags = tags
            self.platform = platform
            self.dryRun = dryRun
            self.parallelTransfers = max(1, parallelTransfers)
        }
    }

    let source: UpstreamClient
    let sourceRepository: RepositoryName
    let destination: any MirrorDestination
    let options: Options
    let progress: any MirrorProgress

    public init(
        source: UpstreamClient, repository: RepositoryName, destination: any MirrorDestination, options: Options,
        progress: any MirrorProgress = SilentProgress()
    ) {
        self.source = source
        self.sourceRepository = repository
        self.destination = destination
        self.options = options
        self.progress = progress
    }

    public func run() async throws -> MirrorReport {
        let clock = ContinuousClock()
        let started = clock.now
        let report = ReportBuilder()
        let tags = try await source.tags(of: sourceRepository).filter(options.tags.matches).sorted()
        for name in tags {
            guard let tag = Tag(name) else { continue }
            try await copy(tag, report: report)
        }
        var result = await report.result
        result.tagsConsidered = tags.count
        result.duration = clock.now - started
        return result
    }

    private func copy(_ tag: Tag, report: ReportBuilder) async throws {
        guard var top = try await source.manifest(.tag(tag), in: sourceRepository) else { return }
        if let platform = options.platform, try top.parsed().kind == .index {
            guard let child = try top.parsed().manifests.first(where: { $0.platform.map(platform.isSatisfied(by:)) ?? false }),
                  let fetched = try await source.manifest(.digest(child.digest), in: sourceRepository)
            else {
                progress.tagSkipped(tag.value, reason: "no image for \(platform)")
                return
            }
            top = fetched
        }
        if try await destination.manifestDigest(tag) == top.digest {
            await report.tagUpToDate()
            progress.tagSkipped(tag.value, reason: "up to date")
            return
        }
        progress.tagStarted(tag.value, digest: top.digest)
        try await copyTree(top, report: report)
        if !options.dryRun {
            try await destination.putManifest(top.bytes, mediaType: try mediaType(of: top), as: .tag(tag))
        }
        await report.tagCopied(tag.value, digest: top.digest)
        progress.tagFinished(tag.value)
    }

    /// Copies a manifest's blobs, or an index's child manifests and their blobs (not the
    /// manifest itself: the caller tags it).
    private func copyTree(_ manifest: FetchedManifest, report: ReportBuilder) async throws {
        let parsed = try manifest.parsed()
        guard parsed.kind == .index else {
            try await copyBlobs(parsed.referencedBlobs, report: report)
            return
        }
        for child in parsed.manifests {
            if try await destination.hasManifest(child.digest) { continue }
            guard let fetched = try await source.manifest(.digest(child.digest), in: sourceRepository) else {
                throw UpstreamError.invalidResponse(
                    url: "\(source.baseURL)/\(sourceRepository)", reason: "index \(manifest.digest) lists \(child.digest), which is missing")
            }
            try await copyTree(fetched, report: report)
            if !options.dryRun {
                try await destination.putManifest(fetched.bytes, mediaType: try mediaType(of: fetched), as: .digest(fetched.digest))
            }
            await report.manifestCopied()
        }
    }

    private func copyBlobs(_ descriptors: [Descriptor], report: ReportBuilder) async throws {
        // Layers a registry need not hold (foreign, non-distributable) are not copied.
        let blobs = Array(Set(descriptors.filter { !$0.mediaType.contains("nondistributable") && !$0.mediaType.contains("foreign") }))
            .sorted { $0.digest < $1.digest }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = blobs[...]
            var running = 0
            while let descriptor = pending.popFirst() {
                if running == options.parallelTransfers {
                    try await group.next()
                    running -= 1
                }
                group.addTask { try await self.copyBlob(descriptor, report: report) }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    private func copyBlob(_ descriptor: Descriptor, report: ReportBuilder) async throws {
        let digest = descriptor.digest
        if try await destination.hasBlob(digest) {
            await report.blobPresent()
            return
        }
        if options.dryRun {
            await report.blobCopied(bytes: descriptor.size)
            return
        }
        if try await destination.mountBlob(digest) {
            await report.blobMounted()
            progress.blobFinished(digest, size: descriptor.size, how: .mounted)
            return
        }
        progress.blobStarted(digest, size: descriptor.size)
        guard let response = try await source.blob(digest, in: sourceRepository) else {
            throw UpstreamError.invalidResponse(
                url: "\(source.baseURL)/\(sourceRepository)", reason: "blob \(digest) is referenced but missing")
        }
        let progress = self.progress
        let body = VerifiedBlobBody(response.body, digest: digest, length: descriptor.size) { progress.blobProgress(digest, bytes: $0) }
        try await destination.pushBlob(digest, length: descriptor.size, body: body)
        await report.blobCopied(bytes: descriptor.size)
        progress.blobFinished(digest, size: descriptor.size, how: .copied)
    }

    private func mediaType(of manifest: FetchedManifest) throws -> String {
        if let mediaType = manifest.mediaType, MediaType.acceptedManifestTypes.contains(mediaType) { return mediaType }
        return try manifest.parsed().mediaType
    }
}

/// What a run copied (or, dry, would copy).
public struct MirrorReport: Sendable {
    public var tagsConsidered = 0
    public var tagsCopied: [(tag: String, digest: Digest)] = []
    public var tagsUpToDate = 0
    public var manifestsCopied = 0
    public var blobsCopied = 0
    public var bytesCopied: Int64 = 0
    public var blobsPresent = 0
    public var blobsMounted = 0
    public var duration: Duration = .zero
}

/// Collects the report from concurrent transfers.
actor ReportBuilder {
    var result = MirrorReport()

    func tagUpToDate() { result.tagsUpToDate += 1 }
    func tagCopied(_ tag: String, digest: Digest) { result.tagsCopied.append((tag, digest)) }
    func manifestCopied() { result.manifestsCopied += 1 }
    func blobPresent() { result.blobsPresent += 1 }
    func blobMounted() { result.blobsMounted += 1 }

    func blobCopied(bytes: Int64) {
        result.blobsCopied += 1
        result.bytesCopied += bytes
    }
}

/// A blob body that hashes and counts what passes through and fails at its end if the bytes do
/// not match the descriptor: a corrupt source never completes an upload.
struct VerifiedBlobBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let digest: Digest
    let length: Int64
    let onProgress: @Sendable (Int64) -> Void

    init(_ base: Base, digest: Digest, length: Int64, onProgress: @escaping @Sendable (Int64) -> Void) {
        self.base = base
        self.digest = digest
        self.length = length
        self.onProgress = onProgress
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var hasher: DigestHasher
        var count: Int64 = 0
        let digest: Digest
        let length: Int64
        let onProgress: @Sendable (Int64) -> Void

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else {
                let actual = hasher.finalize()
                guard count == length, actual == digest else {
                    throw UpstreamError.digestMismatch(expected: digest, actual: actual)
                }
                return nil
            }
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            count += Int64(chunk.readableBytes)
            onProgress(count)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            base: base.makeAsyncIterator(), hasher: DigestHasher(algorithm: digest.algorithm), digest: digest, length: length,
            onProgress: onProgress)
    }
}
