import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryModel

extension RegistryResponder {
    /// `POST /v2/_admin/gc?dry_run=&delete_untagged=`: collects garbage now and answers with
    /// the report. The query overrides the configured options for this run.
    func collectGarbage(_ request: Request) async throws -> Response {
        guard let garbageCollection else {
            throw RegistryError(.unsupported, message: "garbage collection is not available on a read-only registry")
        }
        let report = try await garbageCollection.collect(
            deleteUntagged: try flag("delete_untagged", in: request), dryRun: try flag("dry_run", in: request))
        return try JSONBody.response(GarbageCollectionSummary(report))
    }

    /// `DELETE /v2/_admin/repositories/<name>`: deletes a repository (tags, manifests, links);
    /// the next garbage collection reclaims its blobs.
    func deleteRepository(_ repository: RepositoryName, isAdmin: Bool = false, actor: String? = nil) async throws -> Response {
        try await registry.deleteRepository(repository, isAdmin: isAdmin, actor: actor)
        return try JSONBody.response(["deleted": repository.value], status: .accepted)
    }

    private func flag(_ name: String, in request: Request) throws(RegistryError) -> Bool? {
        guard let value = request.query[name] else { return nil }
        switch value.lowercased() {
        case "", "1", "true", "yes": return true
        case "0", "false", "no": return false
        default:
            throw RegistryError(.unsupported, message: "query parameter \(name) must be true or false", detail: [name: value])
        }
    }
}
