import NIOHTTP1
import RegistryCore
import RegistryHTTP
import RegistryModel
import Testing

/// Numbers from requests, through the real handlers (no socket): none may trap, each ends in
/// the spec's error or a clamped value.
@Suite("Handlers without a socket: numbers from requests")
struct SocketlessHandlerTests {
    func startUpload(_ registry: SocketlessRegistry) async throws -> String {
        let answer = await registry.send(.POST, "/v2/app/blobs/uploads/")
        #expect(answer.status == .accepted)
        return try #require(answer.header("Location"))
    }

    @Test func aChunkCanBeUploadedFromMemory() async throws {
        try await SocketlessRegistry.with { registry in
            let location = try await startUpload(registry)
            let patched = await registry.send(.PATCH, location, headers: [("Content-Range", "0-4")], body: Array("hello".utf8))
            #expect(patched.status == .accepted)
            #expect(patched.header("Range") == "0-4")
        }
    }

    /// Regression: this PATCH killed the process (`ChunkRange.length` overflowed).
    @Test(arguments: ["0-9223372036854775807", "0-99999999999999999999", "5-4", "x"])
    func aContentRangeThatCannotBeAChunkIs416(contentRange: String) async throws {
        try await SocketlessRegistry.with { registry in
            let location = try await startUpload(registry)
            let answer = await registry.send(.PATCH, location, headers: [("Content-Range", contentRange)], body: [1])
            #expect(answer.status == .rangeNotSatisfiable)
            #expect(answer.errorCode == "RANGE_INVALID")
            #expect(answer.header("Location") == location)
        }
    }

    @Test func aManifestDeclaredLargerThanInt64Is413() async throws {
        try await SocketlessRegistry.with { registry in
            let answer = await registry.send(
                .PUT, "/v2/app/manifests/v1",
                headers: [("Content-Type", MediaType.ociManifest), ("Content-Length", "99999999999999999999999")])
            #expect(answer.status == .payloadTooLarge)
            #expect(answer.errorCode == "SIZE_TOO_LARGE")
        }
    }

    @Test func anAbsurdPageSizeIsClampedAndANonNumberIs400() async throws {
        try await SocketlessRegistry.with { registry in
            for n in ["99999999999999999999999", "9223372036854775807", "10001"] {
                let answer = await registry.send(.GET, "/v2/_catalog?n=\(n)")
                #expect(answer.status == .ok, "n=\(n)")
            }
            for n in ["-1", "+1", "1.5", "", "abc"] {
                let answer = await registry.send(.GET, "/v2/_catalog?n=\(n)")
                #expect(answer.status == .badRequest, "n=\(n)")
                #expect(answer.errorCode == "PAGINATION_NUMBER_INVALID")
            }
        }
    }

    @Test func aRangeBeyondInt64OnABlobIsServedOrRefusedPerRFC9110() async throws {
        try await SocketlessRegistry.with { registry in
            let content = Array("0123456789".utf8)
            let digest = "sha256:84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"
            let pushed = await registry.send(.POST, "/v2/app/blobs/uploads/?digest=\(digest)", body: content)
            #expect(pushed.status == .created)
            let huge = "99999999999999999999999"
            let tail = await registry.send(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=4-\(huge)")])
            #expect(tail.status == .partialContent)
            #expect(tail.header("Content-Range") == "bytes 4-9/10")
            let past = await registry.send(.GET, "/v2/app/blobs/\(digest)", headers: [("Range", "bytes=\(huge)-")])
            #expect(past.status == .rangeNotSatisfiable)
            #expect(past.errorCode == "RANGE_INVALID")
        }
    }
}
