import Foundation
import Testing

@testable import RegistryS3

@Suite struct S3ResponseParsingTests {
    static func data(_ text: String) -> Data { Data(text.utf8) }

    @Test func errorDocumentGivesCodeMessageAndRequestID() throws {
        let error = try #require(S3ResponseParsing.error(Self.data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist</Message>\
            <Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>
            """)))
        #expect(error.code == "NoSuchKey")
        #expect(error.message == "The resource you requested does not exist")
        #expect(error.requestID == "4442587FB7D0A2F9")
    }

    @Test func otherDocumentsAreNoError() {
        #expect(S3ResponseParsing.error(Self.data("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>")) == nil)
        #expect(S3ResponseParsing.error(Self.data("not xml")) == nil)
        #expect(S3ResponseParsing.error(Data()) == nil)
    }

    @Test func listPageStripsKeyPrefixAndKeepsContinuationToken() throws {
        let page = try S3ResponseParsing.listPage(Self.data("""
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>b</Name><Prefix>reg/blobs/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
              <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
              <Contents><Key>reg/blobs/a</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>\
            <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>
              <Contents><Key>reg/blobs/b &amp; c</Key><LastModified>2009-10-12T17:50:31Z</LastModified><ETag>"e"</ETag><Size>0</Size></Contents>
            </ListBucketResult>
            """), keyPrefix: "reg/")
        #expect(page.objects.map(\.key) == ["blobs/a", "blobs/b & c"])
        #expect(page.objects.map(\.size) == [434234, 0])
        #expect(page.objects[0].etag == "\"fba9dede5f27731c9771645a39863328\"")
        #expect(page.objects[0].lastModified == Date(timeIntervalSince1970: 1_255_369_830))
        #expect(page.objects[1].lastModified == Date(timeIntervalSince1970: 1_255_369_831))
        #expect(page.continuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
    }

    @Test func lastListPageHasNoContinuationToken() throws {
        let page = try S3ResponseParsing.listPage(Self.data("""
            <ListBucketResult><IsTruncated>false</IsTruncated>\
            <CommonPrefixes><Prefix>p/x/</Prefix></CommonPrefixes></ListBucketResult>
            """), keyPrefix: "p/")
        #expect(page.objects.isEmpty)
        #expect(page.commonPrefixes == ["x/"])
        #expect(page.continuationToken == nil)
    }

    @Test func truncatedListPageWithoutTokenIsRejected() {
        #expect(throws: S3ClientError.self) {
            try S3ResponseParsing.listPage(Self.data("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"), keyPrefix: "")
        }
    }

    @Test func partsPageGivesNumbersETagsSizesAndNextMarker() throws {
        let page = try S3ResponseParsing.parts(Self.data("""
            <ListPartsResult><UploadId>u</UploadId><NextPartNumberMarker>3</NextPartNumberMarker><IsTruncated>true</IsTruncated>
            <Part><PartNumber>2</PartNumber><ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag><Size>10485760</Size></Part>
            <Part><PartNumber>3</PartNumber><ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag><Size>5</Size></Part>
            </ListPartsResult>
            """))
        #expect(page.parts == [
            S3ListedPart(part: S3Part(number: 2, etag: "\"7778aef83f66abc1fa1e8477f296d394\""), size: 10_485_760),
            S3ListedPart(part: S3Part(number: 3, etag: "\"aaaa18db4cc2f85cedef654fccc4a4x8\""), size: 5),
        ])
        #expect(page.nextMarker == 3)
    }

    @Test func uploadIDIsRead() throws {
        let id = try S3ResponseParsing.uploadID(Self.data("""
            <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket>\
            <Key>k</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>
            """))
        #expect(id == "2~abc")
    }

    @Test func emptyCompletedETagAsRadosgwSendsItIsNil() throws {
        #expect(try S3ResponseParsing.completedETag(Self.data(
            "<CompleteMultipartUploadResult><Location>l</Location><ETag></ETag></CompleteMultipartUploadResult>")) == nil)
        #expect(try S3ResponseParsing.completedETag(Self.data(
            "<CompleteMultipartUploadResult><ETag>\"x-3\"</ETag></CompleteMultipartUploadResult>")) == "\"x-3\"")
    }

    @Test func etagsFromDocumentsAreQuotedLikeTheHeader() throws {
        // radosgw 16 sends CopyObjectResult's ETag without quotes; AWS sends them.
        #expect(try S3ResponseParsing.copiedETag(Self.data("<CopyObjectResult><ETag>abc</ETag></CopyObjectResult>")) == "\"abc\"")
        #expect(try S3ResponseParsing.copiedETag(Self.data("<CopyObjectResult><ETag>&quot;abc&quot;</ETag></CopyObjectResult>")) == "\"abc\"")
    }

    @Test func copiedPartETagIsReadAndQuoted() throws {
        let document = "<CopyPartResult><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;p1&quot;</ETag></CopyPartResult>"
        #expect(try S3ResponseParsing.copiedPartETag(Self.data(document)) == "\"p1\"")
        #expect(try S3ResponseParsing.copiedPartETag(Self.data("<CopyPartResult><ETag>p1</ETag></CopyPartResult>")) == "\"p1\"")
        #expect(throws: S3ClientError.self) { try S3ResponseParsing.copiedPartETag(Self.data("<CopyPartResult></CopyPartResult>")) }
    }

    @Test func multipartUploadsPageStripsKeyPrefixAndGivesNextMarkers() throws {
        let page = try S3ResponseParsing.multipartUploads(Self.data("""
            <ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>true</IsTruncated>
            <NextKeyMarker>reg/uploads/b/0</NextKeyMarker><NextUploadIdMarker>2~x</NextUploadIdMarker>
            <Upload><Key>reg/uploads/a/0</Key><UploadId>1~y</UploadId><Initiated>2024-05-01T10:00:00.000Z</Initiated></Upload>
            <Upload><Key>reg/uploads/b/0</Key><UploadId>2~x</UploadId></Upload>
            </ListMultipartUploadsResult>
            """), keyPrefix: "reg/")
        #expect(page.uploads.map(\.key) == ["uploads/a/0", "uploads/b/0"])
        #expect(page.uploads.map(\.uploadID) == ["1~y", "2~x"])
        #expect(page.uploads[0].initiated != nil)
        #expect(page.next?.key == "reg/uploads/b/0")
        #expect(page.next?.uploadID == "2~x")
        let last = try S3ResponseParsing.multipartUploads(
            Self.data("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>"), keyPrefix: "")
        #expect(last.uploads.isEmpty && last.next == nil)
    }

    @Test func unexpectedRootIsAnInvalidResponse() {
        #expect(throws: S3ClientError.invalidResponse(operation: "CopyObject", reason: "expected <CopyObjectResult>, got <Other>")) {
            try S3ResponseParsing.copiedETag(Self.data("<Other/>"))
        }
        #expect(throws: S3ClientError.invalidResponse(operation: "CopyObject", reason: "body is not XML")) {
            try S3ResponseParsing.copiedETag(Self.data("<unclosed>"))
        }
    }

    @Test func escapingMakesTextSafeInsideAnElement() throws {
        let text = "\"a\" & <b> 'c'"
        let root = try #require(S3XMLElement.parse(Self.data("<x>\(S3XMLElement.escape(text))</x>")))
        #expect(root.text == text)
    }

    @Test func contentRangeHeaderIsParsed() {
        #expect(S3ContentRange(header: "bytes 10-19/1000") == S3ContentRange(header: "bytes 10-19/1000"))
        let range = S3ContentRange(header: "bytes 10-19/1000")
        #expect(range?.first == 10 && range?.last == 19 && range?.objectSize == 1000)
        #expect(S3ContentRange(header: "bytes */1000") == nil)
        #expect(S3ContentRange(header: "items 1-2/3") == nil)
    }
}
