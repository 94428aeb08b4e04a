import RegistryModel
import RegistryStorage

/// The one place that knows which key holds what in the bucket (below the configuration's key
/// prefix), like ``StorageLayout`` for a file system.
///
/// ```
/// blobs/<algorithm>/<first two hex>/<hex>   a complete blob, written only by assembling a session's data
/// uploads/<session id>/<offset, 20 digits>  a session's data, as segments that tile it in order
/// uploads/.ready-<random>                   the readiness probe, written and deleted at once
/// quarantine/<algorithm>-<hex>              blobs moved aside by a repairing scrub
/// ```
/// Every component comes from a validated ``Digest``, a server-generated ``UploadID`` or a
/// number, never from a client-chosen string.
public enum ObjectStorageLayout {
    public static let blobsPrefix = "blobs/"
    public static let uploadsPrefix = "uploads/"
    public static let quarantinePrefix = "quarantine/"
    /// Digits of a segment's offset: zero-padded so that listing order is offset order.
    static let offsetDigits = 20

    public static func blobKey(for digest: Digest) -> String {
        "\(blobsPrefix)\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))/\(digest.encoded)"
    }

    public static func quarantineKey(for digest: Digest) -> String {
        "\(quarantinePrefix)\(digest.algorithm.rawValue)-\(digest.encoded)"
    }

    /// `uploads/<id>/`: every segment of a session starts with it.
    public static func sessionPrefix(for id: UploadID) -> String {
        "\(uploadsPrefix)\(id.value)/"
    }

    public static func segmentKey(for id: UploadID, at offset: Int64) -> String {
        let digits = String(offset)
        return sessionPrefix(for: id) + String(repeating: "0", count: max(0, offsetDigits - digits.count)) + digits
    }

    static func readinessProbeKey() -> String {
        "\(uploadsPrefix).ready-\(UploadID().value)"
    }

    /// The digest a key under `blobs/` names, or nil for any other key.
    static func digest(ofBlobKey key: String) -> Digest? {
        guard key.hasPrefix(blobsPrefix) else { return nil }
        let parts = key.dropFirst(blobsPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix(parts[1]), parts[1].count == 2,
              let digest = try? Digest(parsing: "\(parts[0]):\(parts[2])")
        else { return nil }
        return digest
    }

    /// The offset a segment key names (the part after the session prefix), or nil.
    static func offset(ofSegmentName name: Substring) -> Int64? {
        guard name.utf8.count == offsetDigits, name.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int64(name)
    }

    /// The session a key under `uploads/<id>/` belongs to, or nil.
    static func session(ofKey key: String) -> UploadID? {
        guard key.hasPrefix(uploadsPrefix) else { return nil }
        return key.dropFirst(uploadsPrefix.count).split(separator: "/", maxSplits: 1).first.flatMap { UploadID(String($0)) }
    }

    /// The session a `uploads/<id>/` prefix names, or nil (the readiness probe, strays).
    static func session(ofPrefix prefix: String) -> UploadID? {
        guard prefix.hasPrefix(uploadsPrefix), prefix.hasSuffix("/") else { return nil }
        return UploadID(String(prefix.dropFirst(uploadsPrefix.count).dropLast()))
    }
}
