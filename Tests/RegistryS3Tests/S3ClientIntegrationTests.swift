import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import PseudoRandomBytes
import RegistryS3
import Testing

/// The client against a real gateway. Skipped unless REGISTRY_TEST_S3_ENDPOINT (with
/// REGISTRY_TEST_S3_ACCESS_KEY, _SECRET_KEY, _BUCKET, _REGION) is set; to run them:
///   eval "$(scripts/engines/start.sh)" && swift test --filter RegistryS3Tests; scripts/engines/stop.sh
@Suite(.enabled(
    if: S3TestEnvironment.isConfigured,
    "needs a gateway: REGISTRY_TEST_S3_ENDPOINT etc., set by eval \"$(scripts/engines/start.sh)\""))
struct S3ClientIntegrationTests {
    static let mebibyte = 1 << 20

    static func bytes(of object: S3ObjectStream?) async throws -> [UInt8] {
        let object = try #require(object)
        var bytes: [UInt8] = []
        for try await chunk in object.body { bytes += chunk.readableBytesView }
        return bytes
    }

    @Test func streamedPutReadsBackByteExact() async throws {
        try await S3TestEnvironment.withClient { client in
            let source = ByteChunks(count: Self.mebibyte + 3, chunkSize: 64 << 10)
            let etag = try await client.putObject("blobs/one", body: .stream(source, length: Int64(source.count)))
            let object = try await client.getObject("blobs/one")
            #expect(object?.contentLength == Int64(source.count))
            #expect(object?.etag == etag)
            #expect(try await Self.bytes(of: object) == (await source.bytes()))
        }
    }

    @Test func signedBytesPutWithOddKeyReadsBack() async throws {
        try await S3TestEnvironment.withClient { client in
            let key = "dir/a b+c=d&e~ü(1)*!'$.txt"
            try await client.putObject(key, body: .bytes(ByteBuffer(string: "hello")), contentType: "text/plain")
            let object = try await client.getObject(key)
            #expect(object?.contentType == "text/plain")
            #expect(try await Self.bytes(of: object) == Array("hello".utf8))
            #expect(try await client.listObjectsV2().objects.map(\.key) == [key])
        }
    }

    @Test func rangesReadTheRightBytes() async throws {
        try await S3TestEnvironment.withClient { client in
            let source = ByteChunks(count: 1000, chunkSize: 1000)
            let all = await source.bytes()
            try await client.putObject("r", body: .stream(source, length: 1000))

            let middle = try await client.getObject("r", range: .bytes(first: 10, last: 19))
            #expect(middle?.contentRange == S3ContentRange(first: 10, last: 19, objectSize: 1000))
            #expect(try await Self.bytes(of: middle) == Array(all[10...19]))
            #expect(try await Self.bytes(of: client.getObject("r", range: .from(990))) == Array(all[990...]))
            #expect(try await Self.bytes(of: client.getObject("r", range: .suffix(5))) == Array(all[995...]))
        }
    }

    @Test func rangePastTheEndIsInvalidRange() async throws {
        try await S3TestEnvironment.withClient { client in
            try await client.putObject("r", body: .bytes(ByteBuffer(string: "0123456789")))
            let error = await #expect(throws: S3Error.self) { try await client.getObject("r", range: .from(10)) }
            #expect(error?.status == 416)
            #expect(error?.code == "InvalidRange")
        }
    }

    @Test func headGivesSizeAndETagAndNilWhenMissing() async throws {
        try await S3TestEnvironment.withClient { client in
            let etag = try await client.putObject("h", body: .bytes(ByteBuffer(string: "12345")))
            let info = try await client.headObject("h")
            #expect(info?.size == 5)
            #expect(info?.etag == etag)
            #expect(etag == "\"827ccb0eea8a706c4c34a16891f84e7b\"")  // MD5 of "12345"
            #expect(try await client.headObject("missing") == nil)
            #expect(try await client.getObject("missing") == nil)
        }
    }

    @Test func deleteRemovesAndToleratesMissing() async throws {
        try await S3TestEnvironment.withClient { client in
            try await client.putObject("d", body: .bytes(ByteBuffer(string: "x")))
            try await client.deleteObject("d")
            #expect(try await client.headObject("d") == nil)
            try await client.deleteObject("d")
        }
    }

    @Test func batchDeleteRemovesEveryKeyAndToleratesMissingOnes() async throws {
        try await S3TestEnvironment.withClient { client in
            let keys = (0..<25).map { "batch/\($0) ü&<x>" }
            for key in keys { try await client.putObject(key, body: .bytes(ByteBuffer(string: key))) }
            try await client.putObject("kept", body: .bytes(ByteBuffer(string: "kept")))
            try await client.deleteObjects(keys + ["batch/missing"])
            #expect(try await client.listObjectsV2(prefix: "batch/").objects.isEmpty)
            #expect(try await client.headObject("kept") != nil)
            try await client.deleteObjects([])
        }
    }

    @Test func batchDeleteRefusesMoreThanAThousandKeys() async throws {
        try await S3TestEnvironment.withClient { client in
            await #expect(throws: S3ClientError.self) {
                try await client.deleteObjects((0...S3Client.deleteBatchLimit).map { "k\($0)" })
            }
        }
    }

    @Test func copyDuplicatesOnTheServer() async throws {
        try await S3TestEnvironment.withClient { client in
            let source = ByteChunks(count: 300_000, chunkSize: 1 << 16)
            let etag = try await client.putObject("src", body: .stream(source, length: 300_000))
            let copied = try await client.copyObject(from: "src", to: "dst/copy")
            #expect(copied == etag)
            #expect(try await Self.bytes(of: client.getObject("dst/copy")) == (await source.bytes()))
        }
    }

    @Test func copyOfMissingSourceIsNoSuchKey() async throws {
        try await S3TestEnvironment.withClient { client in
            let error = await #expect(throws: S3Error.self) { try await client.copyObject(from: "none", to: "x") }
            #expect(error?.code == "NoSuchKey")
            #expect(error?.status == 404)
        }
    }

    @Test func streamShorterThanDeclaredLengthFailsAndStoresNothing() async throws {
        try await S3TestEnvironment.withClient { client in
            await #expect(throws: (any Error).self) {
                try await client.putObject("short", body: .stream(ByteChunks(count: 100, chunkSize: 10), length: 200))
            }
            let stored = try await client.headObject("short")
            #expect(stored == nil)
        }
    }

    @Test func multipartUploadJoinsPartsInOrder() async throws {
        try await S3TestEnvironment.withClient { client in
            let sources = [
                ByteChunks(count: 5 * Self.mebibyte, chunkSize: 1 << 16, seed: 1),
                ByteChunks(count: 5 * Self.mebibyte + 7, chunkSize: 1 << 16, seed: 2),
                ByteChunks(count: 5 * Self.mebibyte + 13, chunkSize: 1 << 16, seed: 3),
            ]
            let uploadID = try await client.createMultipartUpload("big", contentType: "application/octet-stream")
            var parts: [S3Part] = []
            for (index, source) in sources.enumerated() {
                parts.append(try await client.uploadPart(
                    "big", uploadID: uploadID, number: index + 1, body: .stream(source, length: Int64(source.count))))
            }
            let listed = try await client.listParts("big", uploadID: uploadID)
            #expect(listed.map(\.part) == parts)
            #expect(listed.map(\.size) == sources.map { Int64($0.count) })
            #expect(try await client.headObject("big") == nil)

            try await client.completeMultipartUpload("big", uploadID: uploadID, parts: parts)

            var expected = SHA256()
            for source in sources { expected.update(data: await source.bytes()) }
            let object = try #require(try await client.getObject("big"))
            #expect(object.contentLength == Int64(sources.map(\.count).reduce(0, +)))
            var actual = SHA256()
            for try await chunk in object.body { chunk.withUnsafeReadableBytes { actual.update(bufferPointer: $0) } }
            #expect(actual.finalize() == expected.finalize())
            #expect(try await client.headObject("big")?.etag.hasSuffix("-3\"") == true)
        }
    }

    @Test func uploadPartCopyAssemblesObjectsAndRangesOnTheServer() async throws {
        try await S3TestEnvironment.withClient { client in
            let first = ByteChunks(count: 5 * Self.mebibyte + 1, chunkSize: 1 << 16, seed: 4)
            let second = ByteChunks(count: 1000, chunkSize: 1000, seed: 5)
            try await client.putObject("a", body: .stream(first, length: Int64(first.count)))
            try await client.putObject("b", body: .stream(second, length: Int64(second.count)))
            let uploadID = try await client.createMultipartUpload("joined")
            let parts = [
                try await client.uploadPartCopy("joined", uploadID: uploadID, number: 1, from: "a"),
                try await client.uploadPartCopy("joined", uploadID: uploadID, number: 2, from: "b", range: 10...109),
            ]
            #expect(try await client.listParts("joined", uploadID: uploadID).map(\.size) == [Int64(first.count), 100])
            try await client.completeMultipartUpload("joined", uploadID: uploadID, parts: parts)
            let expected = (await first.bytes()) + Array((await second.bytes())[10...109])
            #expect(try await Self.bytes(of: client.getObject("joined")) == expected)

            let failing = try await client.createMultipartUpload("none")
            let error = await #expect(throws: S3Error.self) {
                try await client.uploadPartCopy("none", uploadID: failing, number: 1, from: "missing")
            }
            #expect(error?.code == "NoSuchKey")
            try await client.abortMultipartUpload("none", uploadID: failing)
        }
    }

    @Test func unfinishedMultipartUploadsAreListedUnderAPrefix() async throws {
        try await S3TestEnvironment.withClient { client in
            let first = try await client.createMultipartUpload("u/a")
            let second = try await client.createMultipartUpload("u/b")
            let other = try await client.createMultipartUpload("v/c")
            let listed = try await client.listMultipartUploads(prefix: "u/")
            #expect(Set(listed.map(\.key)) == ["u/a", "u/b"])
            #expect(Set(listed.map(\.uploadID)) == [first, second])
            for upload in try await client.listMultipartUploads() {
                try await client.abortMultipartUpload(upload.key, uploadID: upload.uploadID)
            }
            #expect(try await client.listMultipartUploads().isEmpty)
            _ = other
        }
    }

    @Test func abortedMultipartUploadLeavesNothing() async throws {
        try await S3TestEnvironment.withClient { client in
            let uploadID = try await client.createMultipartUpload("gone")
            _ = try await client.uploadPart("gone", uploadID: uploadID, number: 1, body: .bytes(ByteBuffer(string: "part")))
            try await client.abortMultipartUpload("gone", uploadID: uploadID)
            #expect(try await client.headObject("gone") == nil)
            #expect(try await client.listObjectsV2().objects.isEmpty)
            let error = await #expect(throws: S3Error.self) { try await client.listParts("gone", uploadID: uploadID) }
            // AWS says NoSuchUpload; radosgw 16 says NoSuchKey (the upload's meta object is gone).
            #expect(["NoSuchUpload", "NoSuchKey"].contains(error?.code))
            #expect(error?.status == 404)
        }
    }

    @Test func listingPagesThroughPrefixWithContinuation() async throws {
        try await S3TestEnvironment.withClient { client in
            let keys = ["l/a", "l/b", "l/c", "l/d/e", "l/f"]
            for key in keys + ["other"] { try await client.putObject(key, body: .bytes(ByteBuffer(string: key))) }

            var pages: [[String]] = []
            var token: String?
            repeat {
                let page = try await client.listObjectsV2(prefix: "l/", continuationToken: token, maxKeys: 2)
                pages.append(page.objects.map(\.key))
                token = page.continuationToken
            } while token != nil
            #expect(pages == [["l/a", "l/b"], ["l/c", "l/d/e"], ["l/f"]])

            let grouped = try await client.listObjectsV2(prefix: "l/", delimiter: "/")
            #expect(grouped.objects.map(\.key) == ["l/a", "l/b", "l/c", "l/f"])
            #expect(grouped.commonPrefixes == ["l/d/"])
            #expect(grouped.objects.first?.size == 3)
            #expect(grouped.objects.first?.etag == "\"f96fa71ddc4a4ebc8c78789f9f54c4ba\"")  // MD5 of "l/a"
            #expect(grouped.objects.first?.lastModified.map { abs($0.timeIntervalSinceNow) < 600 } == true)
        }
    }

    @Test func presignedURLWorksWithPlainHTTPUntilItExpires() async throws {
        try await S3TestEnvironment.withClient { client in
            try await client.putObject("p/blob", body: .bytes(ByteBuffer(string: "presigned")))
            let url = try client.presignedGetURL(for: "p/blob", lifetime: .seconds(300))
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            #expect(response.status == .ok)
            #expect(String(buffer: try await response.body.collect(upTo: 1024)) == "presigned")

            let expired = try client.presignedGetURL(for: "p/blob", lifetime: .seconds(60), now: Date().addingTimeInterval(-3600))
            let refused = try await HTTPClient.shared.execute(HTTPClientRequest(url: expired), timeout: .seconds(10))
            #expect(refused.status == .forbidden)
            _ = try await refused.body.collect(upTo: 1 << 16)
        }
    }

    @Test func wrongSecretIsSignatureDoesNotMatch() async throws {
        var credentials = S3TestEnvironment.configuration().credentials
        credentials.secretAccessKey += "x"
        try await S3TestEnvironment.withClient(credentials: credentials) { client in
            let error = await #expect(throws: S3Error.self) { try await client.getObject("anything") }
            #expect(error?.status == 403)
            #expect(error?.code == "SignatureDoesNotMatch")
        }
    }

    @Test func unknownAccessKeyIsInvalidAccessKeyId() async throws {
        let credentials = S3Credentials(accessKeyID: "NOSUCHKEY0000000000", secretAccessKey: "secret")
        try await S3TestEnvironment.withClient(credentials: credentials) { client in
            let error = await #expect(throws: S3Error.self) {
                try await client.putObject("x", body: .bytes(ByteBuffer(string: "x")))
            }
            #expect(error?.status == 403)
            #expect(error?.code == "InvalidAccessKeyId")
        }
    }
}
