import RegistryModel
import SystemPackage

/// The one place that knows where things live under a storage root.
///
/// ```
/// <root>/blobs/<algorithm>/<first two hex>/<hex>   content-addressed blobs, one file per digest
/// <root>/uploads/<session id>                      in-progress uploads (never served)
/// <root>/uploads/<session id>.commit               a second link, briefly, while a commit replaces a blob file
/// <root>/metadata.sqlite                           repositories, manifests, tags, links, sessions
/// ```
/// Every component below the root comes from a validated ``Digest`` or a server-generated
/// session id, never from a client-chosen string, so no path can leave the root.
public struct StorageLayout: Sendable {
    public let root: FilePath

    public init(root: FilePath) {
        self.root = root
    }

    public var blobsDirectory: FilePath { root.appending("blobs") }
    public var uploadsDirectory: FilePath { root.appending("uploads") }
    public var metadataDatabase: FilePath { root.appending("metadata.sqlite") }
    /// Blobs whose bytes did not match their digest, moved aside by `registry scrub --repair`.
    public var quarantineDirectory: FilePath { root.appending("quarantine") }

    public func quarantinePath(for digest: Digest) -> FilePath {
        quarantineDirectory.appending("\(digest.algorithm.rawValue)-\(digest.encoded)")
    }

    public func blobDirectory(for digest: Digest) -> FilePath {
        blobsDirectory.appending(digest.algorithm.rawValue).appending(String(digest.encoded.prefix(2)))
    }

    public func blobPath(for digest: Digest) -> FilePath {
        blobDirectory(for: digest).appending(digest.encoded)
    }

    public func uploadDataPath(for id: UploadID) -> FilePath {
        uploadsDirectory.appending(id.value)
    }

    /// A second name of a session's data, made only while it replaces an existing blob file.
    public func uploadCommitPath(for id: UploadID) -> FilePath {
        uploadsDirectory.appending("\(id.value).commit")
    }
}

/// A server-generated upload session id: 32 lower-case hex characters (128 random bits).
public struct UploadID: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public init() {
        // 128 random bits from two calls to the system's generator (one per byte would cost 32
        // system calls per upload).
        var generator = SystemRandomNumberGenerator()
        value = (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Accepts only strings this server could have generated, so a client-supplied id can be
    /// used in a path safely.
    public init?(_ string: String) {
        guard string.utf8.count == 32,
              string.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        value = string
    }

    public var description: String { value }
}
