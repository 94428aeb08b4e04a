import RegistryModel
import RegistryStorage

/// The order in which a repository's manifests can be pushed again: each after the manifests it
/// references (an index after its children) and after its subject (a signature after what it
/// signs), so that whatever a copy interrupted at any point has made visible is complete.
enum ManifestOrder {
    /// `records` reordered; references to manifests not among them impose nothing. Digests
    /// make cycles impossible (a manifest cannot reference itself through its own hash).
    static func sorted(_ records: [ManifestRecord]) -> [ManifestRecord] {
        let byDigest = Dictionary(records.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        var placed = Set<Digest>()
        var order: [ManifestRecord] = []
        order.reserveCapacity(records.count)
        func place(_ record: ManifestRecord) {
            guard placed.insert(record.digest).inserted else { return }
            for dependency in record.childManifests + (record.subject.map { [$0] } ?? []) {
                if let next = byDigest[dependency] { place(next) }
            }
            order.append(record)
        }
        for record in records { place(record) }
        return order
    }
}
