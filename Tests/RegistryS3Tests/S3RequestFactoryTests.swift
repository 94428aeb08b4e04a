import AsyncHTTPClient
import Foundation
import NIOCore
import PseudoRandomBytes
import Testing

@testable import RegistryS3

@Suite struct S3RequestFactoryTests {
    static func factory(
        endpoint: String = "http://127.0.0.1:7480", addressing: S3Addressing = .pathStyle, keyPrefix: String = ""
    ) throws -> S3RequestFactory {
        let configuration = S3Configuration(
            endpoint: endpoint, region: "us-east-1", bucket: "examplebucket", keyPrefix: keyPrefix,
            addressing: addressing, credentials: SigV4SignerTests.credentials)
        return S3RequestFactory(
            location: try S3Location(configuration),
            signer: SigV4Signer(credentials: configuration.credentials, region: configuration.region))
    }

    @Test func virtualHostGetObjectIsSignedAsAWSExample() throws {
        let factory = try Self.factory(endpoint: "https://s3.amazonaws.com", addressing: .virtualHost)
        let operation = S3Operation(name: "GetObject", method: .GET, key: "test.txt", headers: [("Range", "bytes=0-9")])
        let request = factory.request(for: operation, at: SigV4SignerTests.may24)
        #expect(request.url == "https://examplebucket.s3.amazonaws.com/test.txt")
        #expect(request.headers.first(name: "host") == "examplebucket.s3.amazonaws.com")
        #expect(request.headers.first(name: "authorization")?.hasSuffix(
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") == true)
    }

    @Test func pathStyleURLCarriesBucketPrefixedEncodedKeyAndPort() throws {
        let factory = try Self.factory(keyPrefix: "reg/")
        let operation = S3Operation(name: "UploadPart", method: .PUT, key: "blobs/a b", query: [("uploadId", "x/y"), ("partNumber", "2")])
        let request = factory.request(for: operation, at: SigV4SignerTests.may24)
        #expect(request.url == "http://127.0.0.1:7480/examplebucket/reg/blobs/a%20b?partNumber=2&uploadId=x%2Fy")
        #expect(request.headers.first(name: "host") == "127.0.0.1:7480")
    }

    @Test func streamedBodiesAreSentAsUnsignedPayload() throws {
        let factory = try Self.factory()
        let body = S3Body.stream(ByteChunks(count: 10, chunkSize: 4), length: 10)
        let request = factory.request(for: S3Operation(name: "PutObject", method: .PUT, key: "k", body: body), at: Date())
        #expect(request.headers.first(name: "x-amz-content-sha256") == "UNSIGNED-PAYLOAD")
    }

    @Test func bytesBodiesAreSignedWithTheirHash() throws {
        let factory = try Self.factory()
        let body = S3Body.bytes(ByteBuffer(string: "Welcome to Amazon S3."))
        let request = factory.request(for: S3Operation(name: "PutObject", method: .PUT, key: "k", body: body), at: Date())
        #expect(request.headers.first(name: "x-amz-content-sha256") == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    }

    @Test func copySourceNamesBucketAndPrefixedEncodedKey() throws {
        let location = try Self.factory(keyPrefix: "p/").location
        #expect(location.copySource(forKey: "a b/c") == "/examplebucket/p/a%20b/c")
    }

    @Test func defaultPortIsLeftOutOfHost() throws {
        #expect(try Self.factory(endpoint: "https://s3.example.com:443").location.hostHeader == "s3.example.com")
        #expect(try Self.factory(endpoint: "http://gw:80/").location.hostHeader == "gw")
        #expect(try Self.factory(endpoint: "https://gw:8443", addressing: .virtualHost).location.hostHeader == "examplebucket.gw:8443")
    }

    @Test(arguments: ["ftp://host", "http://", "http://host/base", "http://host?x=1", "not a url"])
    func endpointsOtherThanSchemeHostPortAreRejected(endpoint: String) {
        #expect(throws: S3ClientError.self) { try Self.factory(endpoint: endpoint) }
    }
}
