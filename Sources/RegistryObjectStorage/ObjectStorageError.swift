import RegistryStorage

/// Failures of the object-storage blob store that are not the S3 service's own errors.
public enum ObjectStorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Object storage has no file descriptor to give `sendfile`: read the blob in chunks.
    case noFileHandle
    /// An object listed or recorded a moment ago is gone (a blob collected while being read).
    case missingObject(key: String)
    /// An object's GET delivered more or fewer bytes than its range holds.
    case unexpectedLength(key: String)
    /// A write was to start at `offset`, but the session's data ends at `length`.
    case sessionDataShorter(UploadID, offset: Int64, length: Int64)
    /// `place` found no data for the session.
    case noSessionData(UploadID)
    /// A blob would need more than S3's 10,000 parts to assemble.
    case tooManyParts(Int)

    public var description: String {
        switch self {
        case .noFileHandle: "a blob in object storage has no file handle for sendfile"
        case .missingObject(let key): "object \(key) is missing"
        case .unexpectedLength(let key): "object \(key) did not deliver the bytes its range holds"
        case .sessionDataShorter(let id, let offset, let length):
            "upload \(id) holds \(length) bytes, cannot write at offset \(offset)"
        case .noSessionData(let id): "upload \(id) has no data"
        case .tooManyParts(let count): "assembling the blob would take \(count) parts, more than S3's 10,000"
        }
    }
}
