import Crypto

/// The digest algorithms the checker pushes content with. The data-driven checks run once per
/// algorithm.
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha256
    case sha512

    func digest(_ bytes: [UInt8]) -> String {
        switch self {
        case .sha256: Digests.sha256(bytes)
        case .sha512: Digests.sha512(bytes)
        }
    }

    /// The algorithm a digest string names, if the checker knows it.
    init?(of digest: String) {
        guard let colon = digest.firstIndex(of: ":") else { return nil }
        self.init(rawValue: String(digest[..<colon]))
    }
}
