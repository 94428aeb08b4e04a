import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryImages
import RegistryModel

extension RegistryResponder {
    /// `GET /v2/_layers/<digest>`: the manifests that use a blob, in the repositories the caller
    /// may pull (the others are not even counted), and what verifying it found.
    func layerDocument(_ digest: Digest, for identity: AccessControl.Identity) async throws -> Response {
        let access = self.access
        let document = try await registry.layerDocument(digest) { access.permits(.pull, on: $0.value, for: identity) }
        let body = try LayerDocument.encoder.encode(document)
        return Response(status: .ok, headers: ["Content-Type": "application/json"], body: .buffer(ByteBuffer(bytes: body)))
    }
}
