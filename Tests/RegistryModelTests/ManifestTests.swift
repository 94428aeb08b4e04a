import RegistryModel
import Testing

@Suite("Manifest parsing")
struct ManifestParsingTests {
    let digest = "sha256:" + String(repeating: "c", count: 64)

    func bytes(_ json: String) -> [UInt8] { Array(json.utf8) }

    @Test func imageManifestExposesItsBlobsAndArtifactType() throws {
        let manifest = try Manifest(parsing: bytes("""
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)",
             "config":{"mediaType":"application/vnd.example.config","digest":"\(digest)","size":3},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\(digest)","size":1}],
             "subject":{"mediaType":"\(MediaType.ociManifest)","digest":"\(digest)","size":9}}
            """), contentType: "\(MediaType.ociManifest); charset=utf-8")
        #expect(manifest.kind == .image)
        #expect(manifest.referencedBlobs.count == 2)
        #expect(manifest.subject?.size == 9)
        #expect(manifest.effectiveArtifactType == "application/vnd.example.config")
    }

    @Test func mediaTypeMayComeFromContentTypeAlone() throws {
        let manifest = try Manifest(parsing: bytes(#"{"schemaVersion":2,"manifests":[]}"#), contentType: MediaType.dockerManifestList)
        #expect(manifest.kind == .index)
        #expect(manifest.mediaType == MediaType.dockerManifestList)
    }

    @Test func bodyAndContentTypeMustAgree() {
        #expect(throws: RegistryError.self) {
            try Manifest(parsing: bytes(#"{"schemaVersion":2,"mediaType":"\#(MediaType.ociIndex)","manifests":[]}"#), contentType: MediaType.ociManifest)
        }
    }

    @Test(arguments: [
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#,
        #"{"schemaVersion":3,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"x","digest":"md5:abc","size":1}]}"#,
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"x","digest":"sha256:cc","size":-1}]}"#,
        #"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#,
        #"[1,2,3]"#,
        #"{"#,
    ])
    func invalidManifestsAreManifestInvalid(_ json: String) {
        do {
            _ = try Manifest(parsing: bytes(json), contentType: nil)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.code == .manifestInvalid)
        }
    }

    @Test func acceptHeadersAreSplitAndQualityValuesIgnored() {
        let accepted = AcceptedMediaTypes(headerLines: [
            "\(MediaType.dockerManifest), \(MediaType.ociManifest);q=0.5", " \(MediaType.dockerManifestList) ; q=0.1",
        ])
        #expect(accepted.accepts(MediaType.dockerManifestList))
        #expect(accepted.accepts(MediaType.ociManifest))
        #expect(!accepted.accepts(MediaType.ociIndex))
        #expect(AcceptedMediaTypes(headerLines: ["*/*"]).accepts(MediaType.ociIndex))
        #expect(AcceptedMediaTypes(headerLines: [String]()).accepts(MediaType.ociIndex))
    }
}
