import RegistryModel
import Testing

@Suite("Manifest and index JSON from clients")
struct ManifestJSONTests {
    let digest = "sha256:" + String(repeating: "d", count: 64)

    func manifest(size: String) -> [UInt8] {
        Array("""
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(digest)","size":\(size)},
             "layers":[]}
            """.utf8)
    }

    @Test func theLargestSizeIsAccepted() throws {
        let parsed = try Manifest(parsing: manifest(size: "9223372036854775807"), contentType: nil)
        #expect(parsed.config?.size == .max)
    }

    @Test(arguments: ["9223372036854775808", "1e30", "-1", "1.5", "\"5\"", "null", "99999999999999999999999999999"])
    func sizesThatAreNotAnInt64OfBytesAreManifestInvalid(size: String) {
        let error = #expect(throws: RegistryError.self) { try Manifest(parsing: manifest(size: size), contentType: nil) }
        #expect(error?.code == .manifestInvalid)
    }

    @Test func indexesNeedTheirManifestsArray() throws {
        let index = try Manifest(parsing: Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[]}"#.utf8), contentType: nil)
        #expect(index.kind == .index)
        #expect(throws: RegistryError.self) {
            try Manifest(parsing: Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)"}"#.utf8), contentType: nil)
        }
    }

    @Test(arguments: ["", "{", "[]", "null", "\u{0}", "{\"schemaVersion\":2e400}", String(repeating: "[", count: 10_000)])
    func bodiesThatAreNotManifestsAreRefusedNotACrash(body: String) {
        #expect(throws: RegistryError.self) { try Manifest(parsing: Array(body.utf8), contentType: nil) }
    }
}
