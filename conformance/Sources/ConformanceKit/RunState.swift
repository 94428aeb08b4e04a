import NIOConcurrencyHelpers

/// State shared by the checks of one run: a unique suffix for tags, and what to delete at the end.
final class RunState: Sendable {
    let id: String = String(UInt32.random(in: .min ... .max), radix: 36)
    private let manifests = NIOLockedValueBox<[(repository: String, digest: String)]>([])
    private let blobs = NIOLockedValueBox<[(repository: String, digest: String)]>([])

    /// A tag unique to this run.
    func tag(_ name: String) -> String { "\(name)-\(id)" }

    /// A repository (under `parent`) unique to this run and call.
    func repository(under parent: String, _ name: String) -> String {
        "\(parent)/\(name)-\(id)-\(UInt16.random(in: .min ... .max))"
    }

    func created(manifest digest: String, in repository: String) {
        manifests.withLockedValue { $0.append((repository, digest)) }
    }

    func created(blob digest: String, in repository: String) {
        blobs.withLockedValue { $0.append((repository, digest)) }
    }

    var createdManifests: [(repository: String, digest: String)] { manifests.withLockedValue { $0 } }
    var createdBlobs: [(repository: String, digest: String)] { blobs.withLockedValue { $0 } }
}
