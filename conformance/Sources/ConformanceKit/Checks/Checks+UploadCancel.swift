extension Check {
    /// `DELETE <blob-push-location>` (end-14, main-branch spec).
    static let uploadCancel: [Check] = [
        Check("cancelledUploadIsGone", "end-14", .uploadCancel) { context in
            let location = try await context.openSession()
            let cancel = try await context.send(.DELETE, location, headers: [("Content-Length", "0")])
            try context.expectStatus(cancel, 204, for: "DELETE of an upload session")
            let status = try await context.send(.GET, location)
            try context.expectStatus(status, 404, for: "GET of a cancelled upload")
            try context.expectErrorCode(status, "BLOB_UPLOAD_UNKNOWN")
        },
        Check("cancelledUploadWithDataCannotBeCompleted", "end-14", .uploadCancel) { context in
            let bytes = Digests.randomBytes(1500)
            let location = try await context.openSession()
            let patch = try await context.patch(location, Array(bytes[0..<1000]), from: 0)
            try context.expectStatus(patch, 202, for: "PATCH 0-999")
            let current = try context.location(patch)
            let cancel = try await context.send(.DELETE, current, headers: [("Content-Length", "0")])
            try context.expectStatus(cancel, 204, for: "DELETE of an upload session holding 1000 bytes")
            let more = try await context.patch(current, Array(bytes[1000...]), from: 1000)
            try context.expectStatus(more, 404, for: "PATCH to a cancelled upload")
            try context.expectErrorCode(more, "BLOB_UPLOAD_UNKNOWN")
            let put = try await context.close(current, digest: context.digest(bytes))
            try context.expectStatus(put, 404, for: "PUT ?digest= to a cancelled upload")
            try context.expectErrorCode(put, "BLOB_UPLOAD_UNKNOWN")
            try await context.expectNoBlobs([context.digest(bytes)], after: "the cancelled upload")
        },
    ]
}
