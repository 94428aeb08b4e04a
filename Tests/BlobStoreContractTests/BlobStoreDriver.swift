import Foundation
import NIOCore
import PseudoRandomBytes
import RegistryModel
import RegistryObjectStorage
import RegistryS3
import RegistryStorage
import SystemPackage
import Testing

/// What every blob-store driver offers and the contract suite checks.
typealias StoreUnderTest = BlobStore & UploadStore

/// A blob-store driver the contract suite runs against. Each test gets fresh, empty storage: a
/// temporary directory, or a key prefix of its own in the bucket REGISTRY_TEST_S3_* describe
/// (everything under it deleted afterwards).
enum BlobStoreDriver: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case filesystem
    case s3

    static let environment = ProcessInfo.processInfo.environment
    static var s3IsConfigured: Bool { !(environment["REGISTRY_TEST_S3_ENDPOINT"] ?? "").isEmpty }
    static let s3SkipReason =
        "set REGISTRY_TEST_S3_* to run the suite on object storage too: eval \"$(scripts/engines/start.sh)\""

    /// The file system always; object storage when a gateway is configured.
    static var available: [BlobStoreDriver] { s3IsConfigured ? [.filesystem, .s3] : [.filesystem] }

    var testDescription: String { rawValue }

    /// The part size the object-storage driver runs with in tests: S3's minimum, so that chunks
    /// above and below it stay small.
    static let partSize = ObjectStorageConfiguration.minimumPartSize

    /// The size a driver cuts its writes at (the file system has no parts: any size will do).
    var partSize: Int { Self.partSize }

    /// Runs `body` with one store on fresh storage.
    func withStore(_ body: (any StoreUnderTest) async throws -> Void) async throws {
        try await withStores(count: 1) { try await body($0[0]) }
    }

    /// Runs `body` with `count` stores on the same fresh storage, as several registry processes
    /// (replicas) sharing it would have.
    func withStores(count: Int, _ body: ([any StoreUnderTest]) async throws -> Void) async throws {
        switch self {
        case .filesystem:
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("blob-contract-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: root) }
            var stores: [any StoreUnderTest] = []
            for _ in 0..<count {
                let store = FilesystemBlobStore(layout: StorageLayout(root: FilePath(root)))
                try await store.prepare()
                stores.append(store)
            }
            try await body(stores)
        case .s3:
            let s3 = Self.s3Configuration(prefix: "contract-\(UUID().uuidString.lowercased())/")
            let configuration = try ObjectStorageConfiguration(s3: s3, partSize: Self.partSize)
            var stores: [S3BlobStore] = []
            do {
                for _ in 0..<count { stores.append(try S3BlobStore(configuration: configuration)) }
                try await body(stores)
            } catch {
                try? await Self.removeAll(s3)
                for store in stores { try? await store.shutdown() }
                throw error
            }
            try await Self.removeAll(s3)
            for store in stores { try await store.shutdown() }
        }
    }

    static func s3Configuration(prefix: String) -> S3Configuration {
        S3Configuration(
            endpoint: environment["REGISTRY_TEST_S3_ENDPOINT"] ?? "",
            region: environment["REGISTRY_TEST_S3_REGION"] ?? "us-east-1",
            bucket: environment["REGISTRY_TEST_S3_BUCKET"] ?? "",
            keyPrefix: prefix,
            credentials: S3Credentials(
                accessKeyID: environment["REGISTRY_TEST_S3_ACCESS_KEY"] ?? "",
                secretAccessKey: environment["REGISTRY_TEST_S3_SECRET_KEY"] ?? ""))
    }

    /// Deletes every object under the configuration's prefix.
    private static func removeAll(_ configuration: S3Configuration) async throws {
        let client = try S3Client(configuration: configuration)
        do {
            var token: String?
            repeat {
                let page = try await client.listObjectsV2(continuationToken: token)
                for object in page.objects { try await client.deleteObject(object.key) }
                token = page.continuationToken
            } while token != nil
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}

/// Deterministic pseudo-random bytes (xorshift64): the same seed gives the same bytes, made in
/// pieces so that large blobs never exist whole in a test.
struct Pattern: Sendable {
    let seed: UInt64

    /// `count` bytes starting at the pattern's beginning, in buffers of `pieceSize`.
    func pieces(count: Int, pieceSize: Int) -> [ByteBuffer] {
        var generator = PseudoRandomBytes(seed: seed)
        return stride(from: 0, to: count, by: pieceSize).map { generator.buffer(Swift.min(pieceSize, count - $0)) }
    }

    func bytes(_ count: Int) -> [UInt8] {
        var generator = PseudoRandomBytes(seed: seed)
        return Array(buffer: generator.buffer(count))
    }
}

/// Helpers the tests share: writing a session the way the registry core does, and reading.
enum Blobs {
    /// Writes one chunk at `offset` the way the core does: through a writer fed `pieces`
    /// bytes at a time, finished and closed. Returns the new length.
    @discardableResult
    static func appendChunk(_ bytes: [UInt8], to id: UploadID, at offset: Int64, in store: any StoreUnderTest, pieceSize: Int = 64 << 10) async throws -> Int64 {
        let writer = try await store.openWriter(id, at: offset)
        var start = 0
        while start < bytes.count {
            let end = min(start + pieceSize, bytes.count)
            try await writer.append(ByteBuffer(bytes: bytes[start..<end]))
            start = end
        }
        try await writer.finish()
        try await writer.close()
        return offset + Int64(bytes.count)
    }

    /// Writes `bytes` as one session and makes them the blob; returns the digest.
    @discardableResult
    static func store(_ bytes: [UInt8], in store: any StoreUnderTest) async throws -> Digest {
        let id = UploadID()
        let digest = DigestHasher.digest(of: bytes)
        if bytes.count < 1 << 20 {
            try await store.writeDurably(ByteBuffer(bytes: bytes), to: id, at: 0)
        } else {
            try await appendChunk(bytes, to: id, at: 0, in: store)
        }
        try await store.place(id, as: digest)
        try await store.confirmPlaced(id, as: digest)
        try await store.remove(id)
        return digest
    }

    static func read(_ reader: any BlobReader, _ range: Range<Int64>? = nil, chunkSize: Int = 1 << 20) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in reader.chunks(in: range ?? 0..<reader.size, chunkSize: chunkSize) {
            #expect(chunk.readableBytes <= chunkSize)
            bytes += chunk.readableBytesView
        }
        return bytes
    }

    /// A stored blob's bytes, or nil when it is not stored.
    static func contents(of digest: Digest, in store: any StoreUnderTest) async throws -> [UInt8]? {
        guard let reader = try await store.open(digest) else { return nil }
        do {
            let bytes = try await read(reader)
            try await reader.close()
            return bytes
        } catch {
            try? await reader.close()
            throw error
        }
    }

    /// A session's data as `openReader` gives it.
    static func sessionContents(of id: UploadID, length: Int64, in store: any StoreUnderTest) async throws -> [UInt8] {
        let reader = try await store.openReader(id)
        let bytes = try await read(reader, 0..<length)
        try await reader.close()
        return bytes
    }
}
