extension Check {
    static func chunkedPush(_ algorithm: DigestAlgorithm) -> [Check] {
        let feature = Feature.chunkedPush.with(algorithm)
        return [
            Check("chunkedUploadWithContentRangeCreatesBlob", "end-5", feature) { context in
                let start = try await context.startUpload()
                try context.expectStatus(start, 202, for: "POST /blobs/uploads/")
                // Three chunks of at least the announced minimum, the last one shorter.
                let chunk = try context.chunkSize(announcedBy: start)
                let bytes = Digests.randomBytes(3 * chunk - 5)
                let digest = context.digest(bytes)
                var location = try context.location(start)
                for lower in stride(from: 0, to: bytes.count, by: chunk) {
                    let upper = min(lower + chunk, bytes.count)
                    let patch = try await context.patch(location, Array(bytes[lower..<upper]), from: lower)
                    try context.expectStatus(patch, 202, for: "PATCH \(lower)-\(upper - 1)")
                    try context.expectHeader(patch, "Range", equals: "0-\(upper - 1)")
                    location = try context.location(patch)
                }
                let put = try await context.close(location, digest: digest)
                try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= closing a chunked upload")
            },
            Check("chunkWhoseBodyDoesNotMatchItsRangeIsRejected", "end-5", feature) { context in
                let location = try await context.openSession()
                let response = try await context.send(
                    .PATCH, location,
                    headers: [("Content-Type", "application/octet-stream"), ("Content-Range", "0-99")],
                    body: .bytes(Digests.randomBytes(50)))
                try context.expectStatus(response, 400, 416, for: "PATCH announcing 0-99 with a 50-byte body")
                if response.status == 400 { try context.expectErrorCode(response, "SIZE_INVALID") }
                await context.abandon(location)
            },
            Check("uploadStatusReportsTheRange", "end-13", feature) { context in
                let location = try await context.openSession()
                let patch = try await context.patch(location, Digests.randomBytes(100), from: 0)
                try context.expectStatus(patch, 202, for: "PATCH 0-99")
                let status = try await context.send(.GET, try context.location(patch))
                try context.expectStatus(status, 204, for: "GET upload status")
                try context.expectHeader(status, "Range", equals: "0-99")
                try context.expectHeader(status, "Location")
                await context.abandon(try context.location(patch))
            },
            Check("outOfOrderChunkIs416", "end-5", feature) { context in
                let location = try await context.openSession()
                let first = try await context.patch(location, Digests.randomBytes(10), from: 0)
                try context.expectStatus(first, 202, for: "PATCH 0-9")
                let gap = try await context.patch(try context.location(first), Digests.randomBytes(10), from: 20)
                try context.expectStatus(gap, 416, for: "PATCH 20-29 after 0-9")
                await context.abandon(location)
            },
            Check("outOfOrderFinalChunkInPutIs416", "end-6", feature) { context in
                let bytes = Digests.randomBytes(30)
                let location = try await context.openSession()
                let first = try await context.patch(location, Array(bytes[0..<10]), from: 0)
                try context.expectStatus(first, 202, for: "PATCH 0-9")
                let put = try await context.close(
                    try context.location(first), digest: context.digest(bytes), lastChunk: Array(bytes[20...]), from: 20)
                try context.expectStatus(put, 416, for: "PUT ?digest= with Content-Range 20-29 after 0-9")
                await context.abandon(location)
            },
            Check("repeatedChunkIs416", "end-5", feature) { context in
                let location = try await context.openSession()
                let chunk = Digests.randomBytes(10)
                let first = try await context.patch(location, chunk, from: 0)
                try context.expectStatus(first, 202, for: "PATCH 0-9")
                let again = try await context.patch(try context.location(first), chunk, from: 0)
                try context.expectStatus(again, 416, for: "PATCH 0-9 a second time")
                await context.abandon(location)
            },
            Check("uploadResumesFromTheReportedRange", "end-13", feature) { context in
                let bytes = Digests.randomBytes(2000)
                let digest = context.digest(bytes)
                let location = try await context.openSession()
                let first = try await context.patch(location, Array(bytes[0..<1200]), from: 0)
                try context.expectStatus(first, 202, for: "PATCH 0-1199")
                let status = try await context.send(.GET, try context.location(first))
                try context.expectStatus(status, 204, for: "GET upload status")
                let range = status.header("Range") ?? ""
                guard let end = range.split(separator: "-").last.flatMap({ Int($0) }), end < bytes.count else {
                    throw CheckFailure(expected: "Range: 0-<offset>", got: range.isEmpty ? "no Range header" : range)
                }
                let rest = try await context.patch(try context.location(status), Array(bytes[(end + 1)...]), from: end + 1)
                try context.expectStatus(rest, 202, for: "PATCH resuming at \(end + 1)")
                let put = try await context.close(try context.location(rest), digest: digest)
                try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= after resuming")
            },
            Check("streamedPatchCreatesBlob", "end-5", feature) { context in
                let chunks = (0..<8).map { _ in Digests.randomBytes(8192) }
                let bytes = Array(chunks.joined())
                let digest = context.digest(bytes)
                let location = try await context.openSession()
                let patch = try await context.send(.PATCH, location, headers: [("Content-Type", "application/octet-stream")], body: .stream(chunks))
                try context.expectStatus(patch, 202, for: "PATCH with a chunked-encoded body")
                let put = try await context.close(try context.location(patch), digest: digest)
                try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= after a streamed PATCH")
            },
            Check("putWithTheFinalChunkCreatesBlob", "end-6", feature) { context in
                let bytes = Digests.randomBytes(3000)
                let digest = context.digest(bytes)
                let location = try await context.openSession()
                let first = try await context.patch(location, Array(bytes[0..<1000]), from: 0)
                try context.expectStatus(first, 202, for: "PATCH 0-999")
                let put = try await context.close(try context.location(first), digest: digest, lastChunk: Array(bytes[1000...]), from: 1000)
                try await context.expectBlobCreated(put, digest: digest, bytes: bytes, by: "PUT ?digest= with the last chunk")
            },
        ]
    }
}
