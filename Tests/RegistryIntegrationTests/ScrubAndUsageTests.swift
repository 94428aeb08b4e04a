import Foundation
import Logging
import NIOHTTP1
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// `registry scrub` and `registry du`, run on the root of a registry that is serving.
@Suite("Scrub and usage")
struct ScrubAndUsageTests {
    private func withMaintenance<T>(_ client: RegistryClient, _ body: (RootMaintenance) async throws -> T) async throws -> T {
        var configuration = RegistryConfiguration()
        configuration.root = client.registry.root
        let maintenance = try await RootMaintenance.open(configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            let result = try await body(maintenance)
            try await maintenance.close()
            return result
        } catch {
            try? await maintenance.close()
            throw error
        }
    }

    @Test func scrubFindsABlobCorruptedOnPurposeAndRepairLetsTheNextPushHealIt() async throws {
        try await TestRegistry.with(configure: { $0.gcInterval = nil }) { client in
            let layer = RegistryClient.randomBytes(5000)
            let digest = RegistryClient.digest(layer)
            try await client.pushImage(to: "team/app", tag: "v1", layers: [layer])
            try await client.pushImage(to: "team/other", tag: "v1", layers: [layer])
            let clean = try await withMaintenance(client) { try await $0.scrub(repair: false) }
            #expect(clean.clean)

            // Same size, different bytes: only re-hashing can tell.
            var corrupted = layer
            corrupted[100] ^= 0xFF
            try Data(corrupted).write(to: URL(fileURLWithPath: client.blobFile(digest)))
            let found = try await withMaintenance(client) { try await $0.scrub(repair: false) }
            #expect(!found.clean)
            #expect(found.text.contains("corrupt (bytes do not match the digest): 1"))
            #expect(found.text.contains(digest.description))

            let repaired = try await withMaintenance(client) { try await $0.scrub(repair: true) }
            #expect(repaired.text.contains(digest.description))
            #expect(FileManager.default.fileExists(atPath: "\(client.registry.root)/quarantine/sha256-\(digest.encoded)"))
            // Quarantined: absent for every repository (the server notices within a second), so
            // clients upload it again; one upload heals both repositories.
            var status = HTTPResponseStatus.ok
            for _ in 0..<30 where status == .ok {
                status = try await client.request(.HEAD, "/v2/team/app/blobs/\(digest)").status
                if status == .ok { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == .notFound)
            try await client.pushBlob(layer, to: "team/app")
            try await client.pullImage("team/app", tag: "v1")
            try await client.pullImage("team/other", tag: "v1")
            #expect(try await withMaintenance(client) { try await $0.scrub(repair: false) }.clean)
        }
    }

    @Test func usageFiguresMatchTheFilesOnDisk() async throws {
        try await TestRegistry.with(configure: { $0.gcInterval = nil }) { client in
            let base = RegistryClient.randomBytes(10_000)
            try await client.pushImage(to: "team/app", tag: "v1", layers: [base, RegistryClient.randomBytes(1000)])
            try await client.pushImage(to: "team/app", tag: "v2", layers: [base, RegistryClient.randomBytes(2000)])
            try await client.pushImage(to: "team/web", tag: "v1", layers: [base])

            let text = try await withMaintenance(client) { try await $0.usage(of: nil, json: true) }
            let figures = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let total = try #require(figures["total"] as? [String: Any])
            #expect(total["physical_bytes"] as? Int64 == (try client.bytesOnDisk()))
            #expect(total["blobs"] as? Int == (try client.blobsOnDisk().count))
            let repositories = try #require(figures["repositories"] as? [[String: Any]])
            let app = try #require(repositories.first { $0["name"] as? String == "team/app" })
            let config = 78  // the test client's config blob
            #expect(app["logical_bytes"] as? Int == 2 * (10_000 + config) + 1000 + 2000)
            #expect(app["physical_bytes"] as? Int == 10_000 + config + 1000 + 2000)
            #expect(app["saved_bytes"] as? Int == 10_000 + config)
            // Across the registry, the base layer and the config are stored once for three images.
            #expect(total["logical_bytes"] as? Int == 2 * (10_000 + config) + 1000 + 2000 + 10_000 + config)
            #expect(total["saved_bytes"] as? Int == 2 * (10_000 + config))

            let one = try await withMaintenance(client) { try await $0.usage(of: "team/web", json: false) }
            #expect(one.contains("team/web"))
            #expect(!one.contains("team/app"))
        }
    }
}
