extension Check {
    /// References that are neither a valid tag nor a valid digest, and a mount from an invalid
    /// repository name.
    static let invalidReferences: [Check] = [
        Check("invalidTagIsAnUnknownManifest", "end-3", .invalidReferences) { context in
            try await context.expectUnknownManifest(".INVALID_MANIFEST_NAME")
        },
        Check("malformedDigestIsAnUnknownManifest", "end-3", .invalidReferences) { context in
            try await context.expectUnknownManifest("sha256:xyz")
        },
        // end-9 lists 400 among DELETE's failures, so either answer is accepted here.
        Check("deletingAnInvalidReferenceIsRejected", "end-9", .invalidReferences) { context in
            for reference in [".INVALID_MANIFEST_NAME", "sha256:xyz"] {
                let response = try await context.send(.DELETE, "/v2/\(context.repository)/manifests/\(reference)")
                try context.skipIfUnsupported(response, "manifest deletion")
                try context.expectStatus(response, 404, 400, for: "DELETE of manifest \(reference)")
                if response.status == 404 {
                    try context.expectErrorCode(response, "MANIFEST_UNKNOWN")
                } else {
                    try context.expectErrorCode(response, "TAG_INVALID", "DIGEST_INVALID", "MANIFEST_INVALID")
                }
            }
        },
        Check("pushToAnInvalidTagIsRejected", "end-7", .invalidReferences) { context in
            let image = try await context.pushImage()
            for tag in [".INVALID_MANIFEST_NAME", String(repeating: "t", count: 129)] {
                let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: tag)
                try context.expectStatus(response, 400, for: "PUT of a manifest to tag \(tag)")
                try context.expectErrorCode(response, "TAG_INVALID", "MANIFEST_INVALID")
            }
        },
        Check("pushToAMalformedDigestIsRejected", "end-7", .invalidReferences) { context in
            let image = try await context.pushImage()
            let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: "sha256:baddigeststring")
            try context.expectStatus(response, 400, for: "PUT of a manifest to sha256:baddigeststring")
            try context.expectErrorCode(response, "DIGEST_INVALID", "MANIFEST_INVALID", "TAG_INVALID")
        },
        // The spec: "If the request is invalid, such as a <digest> with an invalid syntax, a
        // 400 Bad Request MUST be returned."
        Check("referrersOfAMalformedDigestIs400", "end-12a", .invalidReferences) { context in
            let response = try await context.send(.GET, "/v2/\(context.repository)/referrers/sha256:xyz")
            try context.skipIfUnsupported(response, "the referrers API")
            try context.expectStatus(response, 400, for: "GET referrers/sha256:xyz")
        },
        Check("mountFromAnInvalidRepositoryFallsBackToAnUpload", "end-11", .invalidReferences) { context in
            let bytes = Digests.randomBytes(300)
            let digest = try await context.pushBlob(bytes, to: context.mountSource)
            let response = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)&from=Invalid..Name")
            if response.status == 201 { context.run.created(blob: digest, in: context.repository) }
            try context.expectStatus(response, 202, for: "POST ?mount=&from=Invalid..Name")
            let put = try await context.close(try context.location(response), digest: digest, lastChunk: bytes)
            try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= to the session the mount opened")
        },
    ]
}

extension CheckContext {
    /// `GET` answers 404 `MANIFEST_UNKNOWN` and `HEAD` 404 for a reference that cannot exist.
    func expectUnknownManifest(_ reference: String) async throws {
        let get = try await send(.GET, "/v2/\(repository)/manifests/\(reference)", headers: [("Accept", Fixtures.ociManifest)])
        try expectStatus(get, 404, for: "GET of manifest \(reference)")
        try expectErrorCode(get, "MANIFEST_UNKNOWN")
        let head = try await send(.HEAD, "/v2/\(repository)/manifests/\(reference)", headers: [("Accept", Fixtures.ociManifest)])
        try expectStatus(head, 404, for: "HEAD of manifest \(reference)")
    }
}
