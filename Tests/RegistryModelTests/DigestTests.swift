import RegistryModel
import Testing

@Suite("Digests")
struct DigestTests {
    @Test func parsesSha256AndSha512() throws {
        let sha256 = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
        #expect(sha256.algorithm == .sha256)
        let sha512 = try Digest(parsing: "sha512:" + String(repeating: "0", count: 128))
        #expect(sha512.algorithm == .sha512)
        #expect(sha512.description == "sha512:" + String(repeating: "0", count: 128))
    }

    @Test(arguments: [
        "", "sha256", "sha256:", ":abc", "sha256:" + String(repeating: "a", count: 63),
        "sha256:" + String(repeating: "A", count: 64), "sha256:" + String(repeating: "g", count: 64),
        "SHA256:" + String(repeating: "a", count: 64), "sha256:../" + String(repeating: "a", count: 61),
    ])
    func rejectsMalformedDigests(_ string: String) {
        #expect(throws: DigestParseError.self) { try Digest(parsing: string) }
        #expect(throws: RegistryError.self) { try Digest(validating: string) }
    }

    @Test func wellFormedButUnknownAlgorithmIsUnsupportedNotMalformed() {
        #expect(throws: DigestParseError.unsupportedAlgorithm("md5")) { try Digest(parsing: "md5:d41d8cd98f00b204e9800998ecf8427e") }
        #expect(throws: DigestParseError.unsupportedAlgorithm("sha256+b64u")) { try Digest(parsing: "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564") }
    }

    @Test func hasherMatchesKnownVectors() {
        #expect(DigestHasher.digest(of: []).description == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(DigestHasher.digest(of: Array("abc".utf8)).description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(DigestHasher.digest(of: Array("abc".utf8), algorithm: .sha512).encoded.hasPrefix("ddaf35a193617aba"))
    }

    @Test func copyingAHasherSnapshotsItsState() {
        var hasher = DigestHasher(algorithm: .sha256)
        hasher.update(bytes: Array("ab".utf8))
        let snapshot = hasher
        hasher.update(bytes: Array("c".utf8))
        #expect(hasher.finalize() == DigestHasher.digest(of: Array("abc".utf8)))
        #expect(snapshot.finalize() == DigestHasher.digest(of: Array("ab".utf8)))
    }
}

@Suite("Names, tags and references")
struct NameTests {
    @Test(arguments: ["a", "library/ubuntu", "a0/b-c/d__e/f.g", "x/blobs/uploads", "a--b", String(repeating: "a", count: 255)])
    func acceptsValidRepositoryNames(_ name: String) {
        #expect(RepositoryName(name) != nil)
    }

    @Test(arguments: ["", "A", "a/", "/a", "a//b", "a/../b", "..", ".a", "a.", "a_-b", "a___b", "a b", "a/%2e", String(repeating: "a", count: 256)])
    func rejectsInvalidRepositoryNames(_ name: String) {
        #expect(RepositoryName(name) == nil)
    }

    @Test func tagsFollowTheSpecGrammar() {
        #expect(Tag("latest") != nil)
        #expect(Tag("_v1.2-rc") != nil)
        #expect(Tag(String(repeating: "a", count: 128)) != nil)
        #expect(Tag(String(repeating: "a", count: 129)) == nil)
        #expect(Tag(".hidden") == nil)
        #expect(Tag("-x") == nil)
        #expect(Tag("a/b") == nil)
        #expect(Tag("") == nil)
    }

    @Test func referencesWithAColonAreDigests() throws {
        let digest = "sha256:" + String(repeating: "b", count: 64)
        #expect(try Reference(parsing: digest) == .digest(try Digest(parsing: digest)))
        #expect(try Reference(parsing: "v1") == .tag(Tag("v1")!))
        #expect(throws: RegistryError.self) { try Reference(parsing: "bad tag") }
        #expect(throws: RegistryError.self) { try Reference(parsing: "sha256:short") }
    }

    @Test func platformsParseAndMatchIgnoringAMissingVariant() {
        let wanted = Platform(parsing: "linux/arm64")!
        #expect(wanted.isSatisfied(by: Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(!wanted.isSatisfied(by: Platform(os: "linux", architecture: "amd64")))
        #expect(!Platform(parsing: "linux/arm64/v7")!.isSatisfied(by: Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(Platform(parsing: "linux") == nil)
    }
}
