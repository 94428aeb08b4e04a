import NIOCore
import RegistryModel
import RegistryUpstream

/// Where `registry mirror` copies to: another registry, or a local storage root.
public protocol MirrorDestination: Sendable {
    var description: String { get }
    /// The digest `tag` points at, or nil.
    func manifestDigest(_ tag: Tag) async throws -> Digest?
    func hasManifest(_ digest: Digest) async throws -> Bool
    func hasBlob(_ digest: Digest) async throws -> Bool
    /// Links a blob the destination already stores elsewhere; false when it must be uploaded.
    func mountBlob(_ digest: Digest) async throws -> Bool
    /// Stores a blob from a stream of `length` bytes; the destination verifies the digest.
    func pushBlob<Body: AsyncSequence & Sendable>(_ digest: Digest, length: Int64, body: Body) async throws
    where Body.Element == ByteBuffer
    /// Stores manifest bytes unchanged under `reference`.
    func putManifest(_ bytes: [UInt8], mediaType: String, as reference: Reference) async throws
}

/// A repository of another registry.
public struct RemoteDestination: MirrorDestination {
    let client: UpstreamClient
    let repository: RepositoryName
    /// A repository of the same registry that the source is, for cross-repository mounts.
    let mountSource: RepositoryName?

    public init(client: UpstreamClient, repository: RepositoryName, mountSource: RepositoryName? = nil) {
        self.client = client
        self.repository = repository
        self.mountSource = mountSource
    }

    public var description: String { "\(client.baseURL)/\(repository)" }

    public func manifestDigest(_ tag: Tag) async throws -> Digest? {
        try await client.manifestDigest(tag, in: repository)
    }

    public func hasManifest(_ digest: Digest) async throws -> Bool {
        try await client.hasManifest(digest, in: repository)
    }

    public func hasBlob(_ digest: Digest) async throws -> Bool {
        try await client.hasBlob(digest, in: repository)
    }

    public func mountBlob(_ digest: Digest) async throws -> Bool {
        guard let mountSource else { return false }
        return try await client.mountBlob(digest, from: mountSource, into: repository)
    }

    public func pushBlob<Body: AsyncSequence & Sendable>(_ digest: Digest, length: Int64, body: Body) async throws
    where Body.Element == ByteBuffer {
        try await client.pushBlob(digest, length: length, body: body, into: repository)
    }

    public func putManifest(_ bytes: [UInt8], mediaType: String, as reference: Reference) async throws {
        try await client.putManifest(bytes, mediaType: mediaType, as: reference, in: repository)
    }
}
