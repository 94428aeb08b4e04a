extension Check {
    static func blobMount(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.blobMount.with(algorithm)
        return [
            Check("mountFromAnotherRepositoryCreatesBlob", "end-11", feature) { context in
                let bytes = Digests.randomBytes(700)
                let digest = try await context.pushBlob(bytes, to: context.mountSource)
                let response = try await context.send(
                    .POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)&from=\(context.mountSource)",
                    additionalScopes: context.mountScopes(context.mountSource))
                try await context.expectMounted(response, digest: digest, bytes: bytes, by: "POST ?mount=&from= of a blob the source holds")
            },
            Check("mountWithoutFromMountsTheBlob", "end-11", feature) { context in
                let bytes = Digests.randomBytes(600)
                let digest = try await context.pushBlob(bytes, to: context.mountSource)
                let response = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)")
                try await context.expectMounted(response, digest: digest, bytes: bytes, by: "POST ?mount= without from, of a blob the registry holds")
            },
            Check("mountOfABlobTheSourceLacksFallsBackToAnUpload", "end-11", feature) { context in
                let bytes = Digests.randomBytes(32)
                let digest = context.digest(bytes)
                let response = try await context.send(
                    .POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)&from=\(context.mountSource)",
                    additionalScopes: context.mountScopes(context.mountSource))
                if response.status == 201 { context.run.created(blob: digest, in: context.repository) }
                try context.expectStatus(response, 202, for: "POST ?mount=&from= of a blob the source does not have")
                let put = try await context.close(try context.location(response), digest: digest, lastChunk: bytes)
                try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= to the session the mount opened")
            },
        ]
    }
}

extension CheckContext {
    /// A mount answered 201 and created the blob, or 202: the spec's way for a registry to say
    /// it does not mount (here, mounting is optional: "SHOULD return a 202" when it does not
    /// support or cannot do it), which skips the check once the upload session it opened
    /// instead has been shown to work.
    func expectMounted(_ response: ConformanceClient.Response, digest: String, bytes: [UInt8], by what: String) async throws {
        guard response.status == 202 else {
            try await expectBlobCreated(response, digest: digest, bytes: bytes, by: what)
            return
        }
        let put = try await close(try location(response), digest: digest, lastChunk: bytes)
        try await expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= to the session \(what) opened")
        throw CheckSkipped("mounting not done: \(what) answered 202 (an upload session, which worked), the spec's answer of a registry that does not mount")
    }
}
