import RegistryModel

/// Why an image could not be inspected, verified or squashed.
public enum ImageInspectionError: Error, Equatable, CustomStringConvertible {
    case manifestNotFound(String)
    case blobNotFound(Digest)
    case notAnImage(mediaType: String)
    case invalidManifest(String)
    case invalidConfiguration(String)
    case tooLarge(Digest, limit: Int)
    case digestMismatch(expected: Digest, actual: Digest)

    public var description: String {
        switch self {
        case .manifestNotFound(let reference): "no manifest \(reference)"
        case .blobNotFound(let digest): "blob \(digest) is not in the repository"
        case .notAnImage(let mediaType): "\(mediaType) is neither an image manifest nor an index"
        case .invalidManifest(let reason): "the manifest is not valid: \(reason)"
        case .invalidConfiguration(let reason): "the image configuration is not valid JSON of an image config: \(reason)"
        case .tooLarge(let digest, let limit): "blob \(digest) is larger than \(limit) bytes, too large for an image configuration"
        case .digestMismatch(let expected, let actual): "the bytes of \(expected) hash to \(actual)"
        }
    }
}
