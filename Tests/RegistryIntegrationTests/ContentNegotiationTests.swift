import RegistryTestSupport
import Foundation
import NIOHTTP1
import RegistryModel
import Testing

@Suite("Content negotiation")
struct ContentNegotiationTests {
    /// Pushes a Docker image for amd64 and arm64 and a manifest list (or OCI index) over both.
    private func pushMultiArch(_ client: RegistryClient, listType: String) async throws -> (list: [UInt8], amd64: [UInt8], arm64: [UInt8]) {
        let childType = listType == MediaType.dockerManifestList ? MediaType.dockerManifest : MediaType.ociManifest
        let amd64 = try await client.pushImage(to: "multi", tag: "amd64", mediaType: childType)
        let arm64 = try await client.pushImage(to: "multi", tag: "arm64", mediaType: childType)
        let list = try RegistryClient.json([
            "schemaVersion": 2, "mediaType": listType,
            "manifests": [
                ["mediaType": childType, "digest": arm64.digest.description, "size": arm64.manifest.count,
                 "platform": ["os": "linux", "architecture": "arm64", "variant": "v8"]],
                ["mediaType": childType, "digest": amd64.digest.description, "size": amd64.manifest.count,
                 "platform": ["os": "linux", "architecture": "amd64"]],
            ],
        ])
        let reply = try await client.request(.PUT, "/v2/multi/manifests/latest", headers: [("Content-Type", listType)], body: list)
        #expect(reply.status == .created)
        return (list, amd64.manifest, arm64.manifest)
    }

    @Test func manifestListIsServedToClientsThatAcceptItOnAnyAcceptLine() async throws {
        try await TestRegistry.with { client in
            let pushed = try await pushMultiArch(client, listType: MediaType.dockerManifestList)
            let reply = try await client.request(.GET, "/v2/multi/manifests/latest", headers: [
                ("Accept", MediaType.dockerManifest),
                ("Accept", "\(MediaType.dockerManifestList); q=0.9"),
            ])
            #expect(reply.bytes == pushed.list)
            #expect(reply.header("Content-Type") == MediaType.dockerManifestList)
            let containerd = try await client.request(.GET, "/v2/multi/manifests/latest", headers: [
                ("Accept", "\(MediaType.dockerManifest), \(MediaType.ociManifest), */*"),
            ])
            #expect(containerd.bytes == pushed.list)
        }
    }

    @Test func manifestListIsReplacedByTheDefaultPlatformForClientsThatCannotReadIt() async throws {
        try await TestRegistry.with { client in
            let pushed = try await pushMultiArch(client, listType: MediaType.dockerManifestList)
            let reply = try await client.request(.GET, "/v2/multi/manifests/latest", headers: [("Accept", MediaType.dockerManifest)])
            #expect(reply.status == .ok)
            #expect(reply.bytes == pushed.amd64)
            #expect(reply.header("Docker-Content-Digest") == RegistryClient.digest(pushed.amd64).description)
            #expect(reply.header("Content-Type") == MediaType.dockerManifest)
        }
    }

    @Test func defaultPlatformIsConfigurable() async throws {
        try await TestRegistry.with(configure: { $0.defaultPlatform = Platform(os: "linux", architecture: "arm64") }) { client in
            let pushed = try await pushMultiArch(client, listType: MediaType.dockerManifestList)
            let reply = try await client.request(.GET, "/v2/multi/manifests/latest", headers: [("Accept", MediaType.dockerManifest)])
            #expect(reply.bytes == pushed.arm64)
        }
    }

    @Test func ociIndexIsRefusedToClientsThatAcceptNeitherItNorAnything() async throws {
        try await TestRegistry.with { client in
            let pushed = try await pushMultiArch(client, listType: MediaType.ociIndex)
            let refused = try await client.request(.GET, "/v2/multi/manifests/latest", headers: [("Accept", MediaType.dockerManifest)])
            #expect(refused.status == .notFound)
            #expect(refused.errorCode == "MANIFEST_UNKNOWN")
            #expect(refused.text.contains("OCI image index"))
            let accepted = try await client.request(.GET, "/v2/multi/manifests/latest", headers: [("Accept", MediaType.ociIndex)])
            #expect(accepted.bytes == pushed.list)
            let noAccept = try await client.request(.GET, "/v2/multi/manifests/latest")
            #expect(noAccept.bytes == pushed.list)
            // By digest the bytes are served whatever the client accepts.
            let byDigest = try await client.request(
                .GET, "/v2/multi/manifests/\(RegistryClient.digest(pushed.list))", headers: [("Accept", MediaType.dockerManifest)])
            #expect(byDigest.bytes == pushed.list)
        }
    }
}
