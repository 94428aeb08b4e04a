extension Check {
    static let push: [Check] = [
        Check("uploadStartsWith202AndLocation", "end-4a", .push) { context in
            let response = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/")
            try context.expectStatus(response, 202, for: "POST /blobs/uploads/")
            try context.expectHeader(response, "Location")
            if let location = response.header("Location") { _ = try? await context.send(.DELETE, location) }
        },
        Check("invalidRepositoryNameIsRejectedWithNameInvalid", "end-4a", .push) { context in
            let response = try await context.send(.POST, "/v2/\(context.repository)/Invalid_Name/blobs/uploads/")
            try context.expectStatus(response, 400, for: "POST /blobs/uploads/ on a name with upper-case letters")
            try context.expectErrorCode(response, "NAME_INVALID")
        },
        Check("chunkWhoseBodyDoesNotMatchItsRangeIsRejected", "end-5", .push) { context in
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let response = try await context.send(
                .PATCH, location,
                headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "0-99")],
                body: .bytes(Digests.randomBytes(50)))
            try context.expectStatus(response, 400, 416, for: "PATCH announcing 0-99 with a 50-byte body")
            if response.status == 400 { try context.expectErrorCode(response, "SIZE_INVALID") }
            _ = try? await context.send(.DELETE, location)
        },
        Check("postThenPutWithBodyCreatesBlob", "end-6", .push) { context in
            let bytes = Digests.randomBytes(5000)
            let digest = Digests.sha256(bytes)
            let start = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/")
            try context.expectStatus(start, 202, for: "POST /blobs/uploads/")
            let location = try context.location(start)
            let put = try await context.send(
                .PUT, CheckContext.appendingQuery(to: location, "digest=\(digest)"),
                headers: [("Content-Type", "application/octet-stream")], body: .bytes(bytes))
            try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= with the blob")
        },
        Check("singlePostWithDigestCreatesBlob", "end-4b", .push) { context in
            let bytes = Digests.randomBytes(2048)
            let digest = Digests.sha256(bytes)
            let response = try await context.send(
                .POST, "/v2/\(context.repository)/blobs/uploads/?digest=\(digest)",
                headers: [("Content-Type", "application/octet-stream")], body: .bytes(bytes))
            switch response.status {
            case 201:
                context.run.created(blob: digest, in: context.repository)
                try context.expectHeader(response, "Location")
                try await context.expectBlob(digest, equals: bytes)
            case 202:
                // The spec lets a registry ignore the body and open a session instead.
                let location = try context.location(response)
                let put = try await context.send(.PUT, CheckContext.appendingQuery(to: location, "digest=\(digest)"), body: .bytes(bytes))
                try context.expectStatus(put, 201, for: "completing the session opened by a single POST")
                context.run.created(blob: digest, in: context.repository)
            default:
                try context.expectStatus(response, 201, 202, for: "POST ?digest= with the blob")
            }
        },
        Check("chunkedUploadWithContentRangeCreatesBlob", "end-5", .push) { context in
            let bytes = Digests.randomBytes(3 * 1024 + 7)
            let digest = Digests.sha256(bytes)
            var location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            for range in [0..<1024, 1024..<2048, 2048..<bytes.count] {
                let patch = try await context.patch(location, Array(bytes[range]), from: range.lowerBound)
                try context.expectStatus(patch, 202, for: "PATCH \(range.lowerBound)-\(range.upperBound - 1)")
                try context.expectHeader(patch, "Range", equals: "0-\(range.upperBound - 1)")
                location = try context.location(patch)
            }
            let put = try await context.send(.PUT, CheckContext.appendingQuery(to: location, "digest=\(digest)"))
            try context.expectStatus(put, 201, for: "PUT ?digest= closing a chunked upload")
            context.run.created(blob: digest, in: context.repository)
            try context.expectHeader(put, "Docker-Content-Digest", equals: digest)
            try await context.expectBlob(digest, equals: bytes)
        },
        Check("uploadStatusReportsTheRange", "end-13", .push) { context in
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let patch = try await context.patch(location, Digests.randomBytes(100), from: 0)
            try context.expectStatus(patch, 202, for: "PATCH 0-99")
            let status = try await context.send(.GET, try context.location(patch))
            try context.expectStatus(status, 204, for: "GET upload status")
            try context.expectHeader(status, "Range", equals: "0-99")
            try context.expectHeader(status, "Location")
            _ = try? await context.send(.DELETE, try context.location(patch))
        },
        Check("outOfOrderChunkIs416", "end-5", .push) { context in
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let first = try await context.patch(location, Digests.randomBytes(10), from: 0)
            try context.expectStatus(first, 202, for: "PATCH 0-9")
            let gap = try await context.patch(try context.location(first), Digests.randomBytes(10), from: 20)
            try context.expectStatus(gap, 416, for: "PATCH 20-29 after 0-9")
            _ = try? await context.send(.DELETE, location)
        },
        Check("repeatedChunkIs416", "end-5", .push) { context in
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let chunk = Digests.randomBytes(10)
            let first = try await context.patch(location, chunk, from: 0)
            try context.expectStatus(first, 202, for: "PATCH 0-9")
            let again = try await context.patch(try context.location(first), chunk, from: 0)
            try context.expectStatus(again, 416, for: "PATCH 0-9 a second time")
            _ = try? await context.send(.DELETE, location)
        },
        Check("uploadResumesFromTheReportedRange", "end-13", .push) { context in
            let bytes = Digests.randomBytes(2000)
            let digest = Digests.sha256(bytes)
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let first = try await context.patch(location, Array(bytes[0..<1200]), from: 0)
            try context.expectStatus(first, 202, for: "PATCH 0-1199")
            let status = try await context.send(.GET, try context.location(first))
            try context.expectStatus(status, 204, for: "GET upload status")
            let range = status.header("Range") ?? ""
            guard let end = range.split(separator: "-").last.flatMap({ Int($0) }) else {
                throw CheckFailure(expected: "Range: 0-<offset>", got: range.isEmpty ? "no Range header" : range)
            }
            let rest = try await context.patch(try context.location(status), Array(bytes[(end + 1)...]), from: end + 1)
            try context.expectStatus(rest, 202, for: "PATCH resuming at \(end + 1)")
            let put = try await context.send(.PUT, CheckContext.appendingQuery(to: try context.location(rest), "digest=\(digest)"))
            try context.expectStatus(put, 201, for: "PUT ?digest=")
            context.run.created(blob: digest, in: context.repository)
            try await context.expectBlob(digest, equals: bytes)
        },
        Check("streamedPatchCreatesBlob", "end-5", .push) { context in
            let chunks = (0..<8).map { _ in Digests.randomBytes(8192) }
            let bytes = Array(chunks.joined())
            let digest = Digests.sha256(bytes)
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let patch = try await context.send(.PATCH, location, body: .stream(chunks))
            try context.expectStatus(patch, 202, for: "PATCH with a chunked-encoded body")
            let put = try await context.send(.PUT, CheckContext.appendingQuery(to: try context.location(patch), "digest=\(digest)"))
            try context.expectStatus(put, 201, for: "PUT ?digest= after a streamed PATCH")
            context.run.created(blob: digest, in: context.repository)
            try await context.expectBlob(digest, equals: bytes)
        },
        Check("putWithTheFinalChunkCreatesBlob", "end-6", .push) { context in
            let bytes = Digests.randomBytes(3000)
            let digest = Digests.sha256(bytes)
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let first = try await context.patch(location, Array(bytes[0..<1000]), from: 0)
            try context.expectStatus(first, 202, for: "PATCH 0-999")
            let put = try await context.send(
                .PUT, CheckContext.appendingQuery(to: try context.location(first), "digest=\(digest)"),
                headers: [("Content-Range", "1000-2999"), ("Content-Type", "application/octet-stream")],
                body: .bytes(Array(bytes[1000...])))
            try context.expectStatus(put, 201, for: "PUT ?digest= with the last chunk")
            context.run.created(blob: digest, in: context.repository)
            try await context.expectBlob(digest, equals: bytes)
        },
        Check("wrongDigestIsRejectedAndStoresNothing", "end-6", .push) { context in
            let bytes = Digests.randomBytes(1000)
            let wrong = Digests.sha256(Digests.randomBytes(1000))
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let put = try await context.send(.PUT, CheckContext.appendingQuery(to: location, "digest=\(wrong)"), body: .bytes(bytes))
            try context.expectStatus(put, 400, for: "PUT with a digest that does not match the body")
            try context.expectErrorCode(put, "DIGEST_INVALID")
            for digest in [wrong, Digests.sha256(bytes)] {
                let head = try await context.send(.HEAD, "/v2/\(context.repository)/blobs/\(digest)")
                try context.expectStatus(head, 404, for: "HEAD \(digest) after the rejected upload")
            }
        },
        Check("zeroByteBlobRoundTrips", "end-6", .push) { context in
            let digest = try await context.pushBlob([])
            let head = try await context.send(.HEAD, "/v2/\(context.repository)/blobs/\(digest)")
            try context.expectStatus(head, 200, for: "HEAD of the empty blob")
            try context.expectHeader(head, "Content-Length", equals: "0")
            try await context.expectBlob(digest, equals: [])
        },
        Check("sha512BlobRoundTrips", "end-6", .push) { context in
            let bytes = Digests.randomBytes(4000)
            let digest = Digests.sha512(bytes)
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let put = try await context.send(.PUT, CheckContext.appendingQuery(to: location, "digest=\(digest)"), body: .bytes(bytes))
            try context.expectStatus(put, 201, for: "PUT ?digest=sha512:...")
            context.run.created(blob: digest, in: context.repository)
            try await context.expectBlob(digest, equals: bytes)
        },
        Check("cancelledUploadIsGone", "end-13", .push) { context in
            let location = try context.location(try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/"))
            let cancel = try await context.send(.DELETE, location)
            try context.expectStatus(cancel, 204, for: "DELETE of an upload session")
            let status = try await context.send(.GET, location)
            try context.expectStatus(status, 404, for: "GET of a cancelled upload")
            try context.expectErrorCode(status, "BLOB_UPLOAD_UNKNOWN")
        },
        Check("mountFromAnotherRepositoryCreatesBlob", "end-11", .push) { context in
            let bytes = Digests.randomBytes(700)
            let digest = try await context.pushBlob(bytes, to: context.mountSource)
            let response = try await context.send(
                .POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)&from=\(context.mountSource)",
                additionalScopes: context.mountScopes(context.mountSource))
            try await context.expectBlobCreated(response, digest: digest, bytes: bytes, by: "POST ?mount=&from= of a blob the source holds")
        },
        Check("mountWithoutFromMountsOrOpensASession", "end-11", .push) { context in
            let bytes = Digests.randomBytes(600)
            let digest = try await context.pushBlob(bytes, to: context.mountSource)
            let response = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)")
            try context.expectStatus(response, 201, 202, for: "POST ?mount= without from")
            try context.expectHeader(response, "Location")
            if response.status == 201 {
                context.run.created(blob: digest, in: context.repository)
                try await context.expectBlob(digest, equals: bytes)
            } else if let location = response.header("Location") {
                _ = try? await context.send(.DELETE, location)
            }
        },
        Check("mountOfAnUnknownBlobFallsBackToAnUpload", "end-11", .push) { context in
            let digest = Digests.sha256(Digests.randomBytes(32))
            let response = try await context.send(.POST, "/v2/\(context.repository)/blobs/uploads/?mount=\(digest)&from=\(context.mountSource)")
            try context.expectStatus(response, 202, for: "POST ?mount= of a blob nobody has")
            let location = try context.location(response)
            _ = try? await context.send(.DELETE, location)
        },
        Check("manifestPushedByTagIs201WithLocationAndDigest", "end-7", .push) { context in
            let image = try Fixtures.image(layers: [Digests.randomBytes(100)])
            try await context.pushBlob(image.config)
            try await context.pushBlob(image.layers[0])
            let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: context.run.tag("push"))
            try context.expectStatus(response, 201, for: "PUT manifest by tag")
            try context.expectHeader(response, "Location")
            try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
        },
        Check("manifestPushedByDigestIs201", "end-7", .push) { context in
            let image = try Fixtures.image(layers: [Digests.randomBytes(100)])
            try await context.pushBlob(image.config)
            try await context.pushBlob(image.layers[0])
            let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: image.digest)
            try context.expectStatus(response, 201, for: "PUT manifest by digest")
            try context.expectHeader(response, "Docker-Content-Digest", equals: image.digest)
            let get = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(image.digest)", headers: [("Accept", Fixtures.ociManifest)])
            try context.expect(get.body == image.manifest, "the pushed bytes", got: context.describe(get))
        },
        Check("manifestWithMissingBlobsIsRejected", "end-7", .push) { context in
            let image = try Fixtures.image(layers: [Digests.randomBytes(100)])
            try await context.pushBlob(image.config)
            let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: context.run.tag("missing-layer"))
            try context.expectStatus(response, 400, 404, for: "PUT of a manifest whose layer was never pushed")
            try context.expectErrorCode(response, "MANIFEST_BLOB_UNKNOWN")
        },
        Check("manifestWithAMissingSubjectIsAcceptedWithOCISubject", "end-7", .push) { context in
            let subject = Digests.sha256(Digests.randomBytes(64))
            let image = try Fixtures.image(layers: [Digests.randomBytes(100)], extra: [
                "artifactType": "application/vnd.conformance.test",
                "subject": ["mediaType": Fixtures.ociManifest, "digest": subject, "size": 64],
            ])
            try await context.pushBlob(image.config)
            try await context.pushBlob(image.layers[0])
            let response = try await context.putManifest(image.manifest, mediaType: Fixtures.ociManifest, reference: context.run.tag("orphan-referrer"))
            try context.expectStatus(response, 201, for: "PUT of a manifest with a subject that does not exist")
            try context.expectHeader(response, "OCI-Subject", equals: subject)
        },
        Check("oversizedManifestIsRejectedWith413", "end-7", .push) { context in
            let body = Array(repeating: UInt8(ascii: " "), count: 4 * 1024 * 1024 + 1)
            let response = try await context.send(
                .PUT, "/v2/\(context.repository)/manifests/\(context.run.tag("huge"))",
                headers: [("Content-Type", Fixtures.ociManifest)], body: .bytes(body))
            try context.expectStatus(response, 413, for: "PUT of a manifest over 4 MiB")
        },
        Check("invalidManifestIsRejected", "end-7", .push) { context in
            let response = try await context.putManifest(Array("{not json".utf8), mediaType: Fixtures.ociManifest, reference: context.run.tag("invalid"))
            try context.expectStatus(response, 400, for: "PUT of a manifest that is not JSON")
            try context.expectErrorCode(response, "MANIFEST_INVALID")
        },
        Check("imageIndexRoundTrips", "end-7", .push) { context in
            let amd64 = try await context.pushImage(tag: context.run.tag("index-amd64"))
            let arm64 = try await context.pushImage(tag: context.run.tag("index-arm64"))
            let index = try Fixtures.index(of: [(amd64, ["os": "linux", "architecture": "amd64"]), (arm64, ["os": "linux", "architecture": "arm64"])])
            let put = try await context.putManifest(index, mediaType: Fixtures.ociIndex, reference: context.run.tag("index"))
            try context.expectStatus(put, 201, for: "PUT of an image index")
            let get = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(context.run.tag("index"))", headers: [("Accept", Fixtures.ociIndex)])
            try context.expectStatus(get, 200, for: "GET of the index by tag")
            try context.expect(get.body == index, "the pushed index bytes", got: context.describe(get))
            try context.expectHeader(get, "Content-Type", equals: Fixtures.ociIndex)
        },
        Check("emptyLayerArtifactManifestRoundTrips", "end-7", .push) { context in
            let empty = Array("{}".utf8)
            let emptyDigest = try await context.pushBlob(empty)
            let descriptor: [String: Any] = ["mediaType": Fixtures.ociEmpty, "digest": emptyDigest, "size": 2]
            let manifest = try Fixtures.json([
                "schemaVersion": 2, "mediaType": Fixtures.ociManifest, "artifactType": "application/vnd.conformance.empty",
                "config": descriptor, "layers": [descriptor],
            ])
            let put = try await context.putManifest(manifest, mediaType: Fixtures.ociManifest, reference: context.run.tag("empty"))
            try context.expectStatus(put, 201, for: "PUT of an artifact manifest with the empty descriptor")
            let get = try await context.send(.GET, "/v2/\(context.repository)/manifests/\(Digests.sha256(manifest))", headers: [("Accept", Fixtures.ociManifest)])
            try context.expect(get.body == manifest, "the pushed bytes", got: context.describe(get))
        },
    ]
}

extension CheckContext {
    func location(_ response: ConformanceClient.Response) throws -> String {
        guard let location = response.header("Location") else {
            throw CheckFailure(expected: "a Location header", got: describe(response))
        }
        return location
    }

    func patch(_ location: String, _ bytes: [UInt8], from offset: Int) async throws -> ConformanceClient.Response {
        try await send(
            .PATCH, location,
            headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "\(offset)-\(offset + bytes.count - 1)")],
            body: .bytes(bytes))
    }

    /// `response` created blob `digest` in the repository: 201 with `Location` and
    /// `Docker-Content-Digest`, and the blob reads back as `bytes`.
    func expectBlobCreated(_ response: ConformanceClient.Response, digest: String, bytes: [UInt8], by what: String) async throws {
        try expectStatus(response, 201, for: what)
        run.created(blob: digest, in: repository)
        try expectHeader(response, "Location")
        try expectHeader(response, "Docker-Content-Digest", equals: digest)
        try await expectBlob(digest, equals: bytes)
    }

    func expectBlob(_ digest: String, equals bytes: [UInt8], in repository: String? = nil) async throws {
        let repository = repository ?? self.repository
        let response = try await send(.GET, "/v2/\(repository)/blobs/\(digest)")
        try expectStatus(response, 200, for: "GET of blob \(digest)")
        try expect(response.body == bytes, "the blob's \(bytes.count) bytes", got: "\(response.body.count) other bytes")
    }
}
