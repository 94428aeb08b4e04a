/// The distribution-spec version whose requirements a run checks.
public enum SpecVersion: String, Sendable, CaseIterable, Comparable {
    /// v1.1.x, the latest release.
    case v1_1 = "1.1"
    /// The main branch: v1.1 plus what it adds that a client can test without special setup
    /// (multi-tag push, `digest-algorithm` uploads, upload cancel, `Docker-Content-Digest`
    /// required on every blob response).
    case dev

    public static func < (lhs: SpecVersion, rhs: SpecVersion) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
