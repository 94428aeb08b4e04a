import Foundation
import RegistryModel

/// What a `registry migrate` run did. Blobs count once per digest; a blob a repository links
/// that another repository already brought over is mounted there (a link, no bytes).
public struct MigrationReport: Sendable {
    public var repositories = 0
    public var blobsCopied = 0
    public var blobsPresent = 0
    public var bytesCopied: Int64 = 0
    public var bytesPresent: Int64 = 0
    public var linksMounted = 0
    public var manifestsCopied = 0
    public var manifestsPresent = 0
    public var tagsSet = 0
    public var tagsPresent = 0
    /// Upload sessions of the source, in progress when the run started: not carried over
    /// (their clients start those pushes again).
    public var uploadSessionsDropped = 0
    /// What could not be copied, one line each: blobs whose bytes in the source do not match
    /// their digest or are missing, and the manifests (and so tags) that need them.
    public var failures: [String] = []
    public var duration: Duration = .zero

    public init() {}

    public var seconds: Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Copy rate of the bytes actually copied.
    public var mebibytesPerSecond: Double { Double(bytesCopied) / 1_048_576 / max(seconds, 0.001) }

    public var summary: String {
        var lines = [
            "repositories \(repositories), manifests \(manifestsCopied + manifestsPresent) (\(manifestsCopied) copied, "
                + "\(manifestsPresent) already there), tags \(tagsSet + tagsPresent) (\(tagsSet) set, \(tagsPresent) already there)",
            "blobs \(blobsCopied + blobsPresent): \(blobsCopied) copied (\(ByteCount.format(bytesCopied))), \(blobsPresent) already there "
                + "(\(ByteCount.format(bytesPresent))); \(linksMounted) link(s) to blobs of other repositories mounted",
            String(format: "%.1f s, %.1f MiB/s copied", seconds, mebibytesPerSecond),
            "upload sessions dropped: \(uploadSessionsDropped) (pushes in progress in the source start again against the destination)",
        ]
        if failures.isEmpty {
            lines.append("every blob re-hashed on the way matched its digest; nothing failed")
        } else {
            lines.append("not copied: \(failures.count)")
            lines += failures.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
