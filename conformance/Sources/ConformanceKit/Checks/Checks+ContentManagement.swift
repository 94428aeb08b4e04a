extension Check {
    static let contentManagement: [Check] = [
        Check("deletingATagRemovesOnlyTheTag", "end-9", .contentManagement) { context in
            let tag = context.run.tag("delete-tag")
            let image = try await context.pushImage(tag: tag)
            let response = try await context.send(.DELETE, "/v2/\(context.repository)/manifests/\(tag)")
            try context.skipIfUnsupported(response, "tag deletion")
            try context.expectStatus(response, 202, for: "DELETE of a tag")
            let byTag = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(tag)")
            try context.expectStatus(byTag, 404, for: "GET of the deleted tag")
            let byDigest = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(image.digest)", headers: [("Accept", Fixtures.ociManifest)])
            try context.expectStatus(byDigest, 200, for: "GET of the manifest by digest after its tag was deleted")
        },
        Check("deletingAManifestRemovesIt", "end-9", .contentManagement) { context in
            let tag = context.run.tag("delete-manifest")
            let image = try await context.pushImage(tag: tag)
            let response = try await context.send(.DELETE, "/v2/\(context.repository)/manifests/\(image.digest)")
            try context.skipIfUnsupported(response, "manifest deletion")
            try context.expectStatus(response, 202, for: "DELETE of a manifest by digest")
            let get = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(image.digest)", headers: [("Accept", Fixtures.ociManifest)])
            try context.expectStatus(get, 404, for: "GET of the deleted manifest")
            try context.expectErrorCode(get, "MANIFEST_UNKNOWN")
        },
        Check("deletingAnUnknownManifestIs404", "end-9", .contentManagement) { context in
            let response = try await context.send(.DELETE, "/v2/\(context.repository)/manifests/\(Digests.sha256(Digests.randomBytes(16)))")
            try context.skipIfUnsupported(response, "manifest deletion")
            try context.expectStatus(response, 404, for: "DELETE of a manifest that does not exist")
            try context.expectErrorCode(response, "MANIFEST_UNKNOWN")
        },
        Check("deletingABlobRemovesIt", "end-10", .contentManagement) { context in
            let digest = try await context.pushBlob(Digests.randomBytes(300))
            let response = try await context.send(.DELETE, "/v2/\(context.repository)/blobs/\(digest)")
            try context.skipIfUnsupported(response, "blob deletion")
            try context.expectStatus(response, 202, for: "DELETE of a blob")
            let get = try await context.send(.GET, "/v2/\(context.repository)/blobs/\(digest)")
            try context.expectStatus(get, 404, for: "GET of the deleted blob")
            try context.expectErrorCode(get, "BLOB_UNKNOWN")
        },
        Check("deletingAnUnknownBlobIs404", "end-10", .contentManagement) { context in
            let response = try await context.send(.DELETE, "/v2/\(context.repository)/blobs/\(Digests.sha256(Digests.randomBytes(16)))")
            try context.skipIfUnsupported(response, "blob deletion")
            try context.expectStatus(response, 404, for: "DELETE of a blob that does not exist")
            try context.expectErrorCode(response, "BLOB_UNKNOWN")
        },
    ]
}
