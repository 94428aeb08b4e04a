import Foundation
@testable import RegistryCore
import RegistryModel
import Testing

@Suite("Accept header parsing")
struct AcceptParsingTests {
    @Test func everyLineIsSplitOnCommasWithParametersAndCaseDropped() {
        let accepted = AcceptedMediaTypes(headerLines: [
            "application/vnd.oci.image.manifest.v1+json; q=0.9, APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON",
            " application/vnd.docker.distribution.manifest.v2+json ",
        ])
        #expect(accepted.types == [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest])
        #expect(!accepted.acceptsAnything)
        #expect(accepted.accepts(MediaType.ociIndex))
        #expect(!accepted.accepts(MediaType.dockerManifestList))
    }

    @Test func noHeaderOrAWildcardAcceptsAnything() {
        #expect(AcceptedMediaTypes(headerLines: [String]()).acceptsAnything)
        #expect(AcceptedMediaTypes(headerLines: ["text/plain, */*;q=0.1"]).acceptsAnything)
        #expect(AcceptedMediaTypes(headerLines: ["application/*"]).acceptsAnything)
    }

    @Test func emptyItemsAreSkipped() {
        let accepted = AcceptedMediaTypes(headerLines: ["", ",,, ;q=1 ,", ","])
        #expect(accepted.types.isEmpty)
        #expect(!accepted.acceptsAnything)
    }

    @Test func essenceDropsParametersAndWhiteSpace() {
        #expect(MediaType.essence(of: " Application/JSON ; charset=utf-8") == "application/json")
        #expect(MediaType.essence(of: ";") == "")
        #expect(MediaType.essence(of: "") == "")
    }
}

@Suite("Basic Authorization parsing")
struct BasicCredentialsTests {
    func header(_ credentials: String, scheme: String = "Basic") -> String {
        "\(scheme) \(Data(credentials.utf8).base64EncodedString())"
    }

    @Test func userAndPasswordSplitAtTheFirstColon() throws {
        let (user, password) = try #require(AccessControl.basicCredentials(header("alice:pa:ss")))
        #expect(user == "alice" && password == "pa:ss")
    }

    @Test func theSchemeIsCaseInsensitive() throws {
        let (user, _) = try #require(AccessControl.basicCredentials(header("bob:x", scheme: "bAsIc")))
        #expect(user == "bob")
    }

    @Test func emptyUserAndPasswordAreKept() throws {
        let (user, password) = try #require(AccessControl.basicCredentials(header(":")))
        #expect(user.isEmpty && password.isEmpty)
    }

    @Test(arguments: ["", "Basic", "Basic ", "Bearer abc", "Basic !!!notbase64", "Basic \(Data("nocolon".utf8).base64EncodedString())",
                      "Basic \(Data([0xFF, 0xFE, 0x3A]).base64EncodedString())"])
    func malformedHeadersAreRefused(value: String) {
        #expect(AccessControl.basicCredentials(value) == nil)
    }
}

@Suite("Repository names, tags and digests from requests")
struct NameTagDigestTests {
    @Test func namesAtTheLengthLimit() {
        let component = String(repeating: "a", count: 127)
        #expect(RepositoryName("\(component)/\(component)") != nil)
        #expect(RepositoryName("\(component)/\(component)/a") == nil)
    }

    @Test(arguments: ["a\u{0}", "é", "a/b/", "A/b", "a..b", "a/./b", "-a", "a-", "a\nb"])
    func namesOutsideTheGrammarAreRefused(name: String) {
        #expect(RepositoryName(name) == nil)
        #expect(throws: RegistryError.self) { try RepositoryName(validating: name) }
    }

    @Test func tagsAtTheLengthLimit() {
        #expect(Tag(String(repeating: "a", count: 128)) != nil)
        #expect(Tag(String(repeating: "a", count: 129)) == nil)
        #expect(Tag(".a") == nil)
        #expect(Tag("-a") == nil)
        #expect(Tag("_a.-b") != nil)
    }

    @Test func referencesAreTagsOrDigestsOrRefused() throws {
        let digest = "sha512:" + String(repeating: "0", count: 128)
        #expect(try Reference(parsing: digest) == .digest(Digest(parsing: digest)))
        #expect(try Reference(parsing: "v1.0") == .tag(#require(Tag("v1.0"))))
        #expect(throws: RegistryError.self) { try Reference(parsing: "sha256:short") }
        #expect(throws: RegistryError.self) { try Reference(parsing: "no/slash") }
    }

    @Test(arguments: ["sha256:" + String(repeating: "A", count: 64), "sha256:" + String(repeating: "a", count: 63),
                      "sha256:" + String(repeating: "a", count: 65), ":abc", "sha256:", "sha256", "sha256::a", "+sha:ab",
                      "sha256:" + String(repeating: "é", count: 32)])
    func digestsOutsideTheGrammarOrLengthAreRefused(text: String) {
        #expect(throws: DigestParseError.self) { try Digest(parsing: text) }
    }
}
