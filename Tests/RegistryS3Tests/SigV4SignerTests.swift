import Foundation
import NIOCore
import Testing

@testable import RegistryS3

/// The worked examples of AWS's S3 SigV4 documentation ("Authenticating Requests: Using the
/// Authorization Header" and "... Using Query Parameters"): bucket `examplebucket`, key
/// AKIAIOSFODNN7EXAMPLE, 24 May 2013 00:00:00 UTC, region us-east-1. The expected values are
/// the ones AWS publishes.
@Suite struct SigV4SignerTests {
    static let credentials = S3Credentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
    static let may24 = Date(timeIntervalSince1970: 1_369_353_600)
    static let host = "examplebucket.s3.amazonaws.com"

    static func authorization(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], payload: String = SigV4Signer.emptyPayloadSHA256
    ) -> String? {
        signer.signatureHeaders(
            method: method, path: path, query: query, headers: [("Host", host)] + headers,
            payloadSHA256: payload, at: may24
        ).first { $0.name == "Authorization" }?.value
    }

    @Test func getObjectWithRangeMatchesAWSExample() {
        #expect(
            Self.authorization(method: "GET", path: "/test.txt", headers: [("Range", "bytes=0-9")])
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func getObjectStepsMatchAWSExample() {
        let timestamp = SigV4Timestamp(Self.may24)
        let headers = CanonicalHeaders([
            ("Host", Self.host), ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", SigV4Signer.emptyPayloadSHA256), ("x-amz-date", timestamp.dateTime),
        ])
        let request = Self.signer.canonicalRequest(
            method: "GET", path: "/test.txt", query: "", headers: headers, payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        #expect(request == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(Self.signer.stringToSign(canonicalRequest: request, at: timestamp) == """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """)
    }

    @Test func putObjectWithPayloadHashAndEncodedKeyMatchesAWSExample() {
        let body = S3Body.bytes(ByteBuffer(string: "Welcome to Amazon S3."))
        #expect(body.payloadSHA256 == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let path = "/" + S3PercentEncoding.encode("test$file.text", keepingSlashes: true)
        #expect(path == "/test%24file.text")
        #expect(
            Self.authorization(
                method: "PUT", path: path,
                headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                payload: body.payloadSHA256)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
                + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func queryParameterWithoutValueMatchesAWSLifecycleExample() {
        let authorization = Self.authorization(method: "GET", path: "/", query: [("lifecycle", "")])
        #expect(authorization?.hasSuffix("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") == true)
    }

    @Test func queryParametersAreSortedAsInAWSListObjectsExample() {
        let authorization = Self.authorization(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")])
        #expect(authorization?.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
    }

    @Test func presignedQueryMatchesAWSExample() {
        let query = Self.signer.presignedQuery(method: "GET", path: "/test.txt", host: Self.host, expires: 86400, at: Self.may24)
        #expect(query == "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test func sessionTokenIsSentAndSigned() {
        var credentials = Self.credentials
        credentials.sessionToken = "token"
        let headers = SigV4Signer(credentials: credentials, region: "us-east-1").signatureHeaders(
            method: "GET", path: "/k", query: [], headers: [("Host", Self.host)],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256, at: Self.may24)
        #expect(headers.contains { $0.name == "x-amz-security-token" && $0.value == "token" })
        #expect(headers.last?.value.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token") == true)
    }

    @Test func headerValuesAreTrimmedAndInnerSpacesCollapsed() {
        let headers = CanonicalHeaders([("X-Amz-Meta-A", "  one   two  "), ("host", "h"), ("x-amz-meta-a", "three")])
        #expect(headers.block == "host:h\nx-amz-meta-a:one two,three\n")
        #expect(headers.signedNames == "host;x-amz-meta-a")
    }

    @Test func credentialsDescriptionHidesTheSecret() {
        #expect(!String(describing: Self.credentials).contains("EXAMPLEKEY"))
    }
}

@Suite struct SigV4TimestampTests {
    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (1_369_353_600, "20130524T000000Z"),
        (951_825_599, "20000229T115959Z"),  // leap day of a year divisible by 400
        (4_107_542_400, "21000301T000000Z"),  // 2100 is no leap year
        (-1, "19691231T235959Z"),
    ])
    func formatsUnixTimeAsUTC(seconds: Double, expected: String) {
        let timestamp = SigV4Timestamp(Date(timeIntervalSince1970: seconds))
        #expect(timestamp.dateTime == expected)
        #expect(timestamp.date == String(expected.prefix(8)))
    }

    @Test func dropsFractionsOfASecond() {
        #expect(SigV4Timestamp(Date(timeIntervalSince1970: 1_369_353_600.999)).dateTime == "20130524T000000Z")
    }
}

@Suite struct S3PercentEncodingTests {
    @Test func leavesOnlyUnreservedCharactersAsTheyAre() {
        #expect(S3PercentEncoding.encode("AZaz09-._~", keepingSlashes: false) == "AZaz09-._~")
        #expect(S3PercentEncoding.encode("a b+c=d&e", keepingSlashes: false) == "a%20b%2Bc%3Dd%26e")
        #expect(S3PercentEncoding.encode("ü", keepingSlashes: false) == "%C3%BC")
    }

    @Test func keepsSlashesOnlyInPaths() {
        #expect(S3PercentEncoding.encode("a/b", keepingSlashes: true) == "a/b")
        #expect(S3PercentEncoding.encode("a/b", keepingSlashes: false) == "a%2Fb")
    }

    @Test func canonicalQuerySortsByEncodedNameThenValue() {
        let query = S3PercentEncoding.canonicalQuery([("b", "2"), ("a", "y"), ("a", "x"), ("uploads", ""), ("k", "a/b c")])
        #expect(query == "a=x&a=y&b=2&k=a%2Fb%20c&uploads=")
    }
}
