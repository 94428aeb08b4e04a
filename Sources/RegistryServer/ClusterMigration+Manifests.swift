import RegistryCore
import RegistryModel
import RegistryStorage

extension ClusterMigration {
    /// Errors of the destination that are about one manifest (it cannot be stored as it is:
    /// something it references did not come over, or it is not valid there), reported as that
    /// manifest's failure; any other error stops the run.
    static let manifestFailures: Set<ErrorCode> = [
        .manifestBlobUnknown, .manifestInvalid, .manifestTooLarge, .digestInvalid, .tagInvalid, .tooManyTags,
    ]

    /// The repository's manifests in ``ManifestOrder``, each pushed byte-exact by digest with
    /// the tags that do not yet point at it in the destination (one transaction per push of at
    /// most ``Registry/maximumTagsPerPush`` tags).
    func copyManifests(of plan: RepositoryPlan, state: inout RunState) async throws {
        let destination = endpoints.destinationMetadata
        let destinationTags = Dictionary(
            try await destination.tagRecords(in: plan.name).map { ($0.tag, $0.manifest) }, uniquingKeysWith: { first, _ in first })
        for record in plan.manifests {
            let tags = plan.tags[record.digest] ?? []
            defer { progress.manifestDone(tags: tags.count) }
            let missingTags = tags.filter { destinationTags[$0] != record.digest }
            let present = try await destination.manifest(record.digest, in: plan.name) != nil
            state.report.tagsPresent += tags.count - missingTags.count
            if present { state.report.manifestsPresent += 1 }
            if present && missingTags.isEmpty { continue }

            let name = "manifest \(plan.name)@\(record.digest)" + (tags.isEmpty ? "" : " (tags \(tags.map(\.value).joined(separator: ", ")))")
            guard let manifest = try await endpoints.source.database.manifest(record.digest, in: plan.name) else {
                state.report.failures.append("\(name): deleted from the source during the run")
                continue
            }
            do {
                for batch in Self.batches(of: missingTags) {
                    _ = try await endpoints.destination.putManifest(
                        manifest.content, contentType: manifest.mediaType, reference: .digest(record.digest), tags: batch, in: plan.name)
                }
            } catch let error as RegistryError where Self.manifestFailures.contains(error.code) {
                let detail = error.detail?["digest"].map { " (\($0))" } ?? ""
                state.report.failures.append("\(name): \(error.message)\(detail)")
                continue
            }
            if !present { state.report.manifestsCopied += 1 }
            state.report.tagsSet += missingTags.count
        }
    }

    /// Tags in pushes of at most ``Registry/maximumTagsPerPush``; one push with none when there
    /// are no tags to set.
    static func batches(of tags: [Tag]) -> [[Tag]] {
        guard !tags.isEmpty else { return [[]] }
        return stride(from: 0, to: tags.count, by: Registry.maximumTagsPerPush).map {
            Array(tags[$0..<min($0 + Registry.maximumTagsPerPush, tags.count)])
        }
    }
}
