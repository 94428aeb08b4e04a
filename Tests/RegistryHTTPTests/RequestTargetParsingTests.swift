@testable import RegistryHTTP
import Testing

@Suite("Percent-decoding of request targets")
struct PercentDecodingTests {
    @Test func escapesAreDecodedInEitherCase() {
        #expect(PercentDecoding.decode("a%2Fb%2fc") == "a/b/c")
        #expect(PercentDecoding.decode("%E2%9C%93") == "✓")
    }

    @Test func malformedEscapesAreKeptLiterally() {
        #expect(PercentDecoding.decode("100%") == "100%")
        #expect(PercentDecoding.decode("%4") == "%4")
        #expect(PercentDecoding.decode("%zz") == "%zz")
        #expect(PercentDecoding.decode("%%41") == "%A")
    }

    @Test func plusIsASpaceOnlyInQueries() {
        #expect(PercentDecoding.decode("a+b") == "a+b")
        #expect(PercentDecoding.decode("a+b", plusAsSpace: true) == "a b")
    }

    @Test func invalidUTF8BecomesReplacementCharactersNotACrash() {
        #expect(PercentDecoding.decode("%FF%FE") == "\u{FFFD}\u{FFFD}")
    }

    @Test func queryParametersKeepOrderAndRepeats() {
        let query = QueryParameters("digest=a&n=5&digest=b&&flag&x=%3D%26")
        #expect(query["digest"] == "a")
        #expect(query.values("digest") == ["a", "b"])
        #expect(query["flag"] == "")
        #expect(query["x"] == "=&")
        #expect(query["absent"] == nil)
    }
}

@Suite("Route parsing")
struct RouteParsingTests {
    @Test func fixedEndpoints() {
        #expect(Route(path: "/v2/") == .base)
        #expect(Route(path: "/v2") == .base)
        #expect(Route(path: "/v2/_catalog") == .catalog)
        #expect(Route(path: "/healthz") == .health)
        #expect(Route(path: "/readyz") == .ready)
        #expect(Route(path: "/token") == .token)
        #expect(Route(path: "/v2/_admin/gc") == .collectGarbage)
        #expect(Route(path: "/v2/_admin/repositories/a/b") == .adminRepository(name: "a/b"))
    }

    @Test func repositoryEndpointsAreParsedFromTheRight() {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        #expect(Route(path: "/v2/a/b/blobs/\(digest)") == .blob(name: "a/b", digest: digest))
        #expect(Route(path: "/v2/a/blobs/uploads/") == .startUpload(name: "a"))
        #expect(Route(path: "/v2/a/blobs/uploads") == .startUpload(name: "a"))
        #expect(Route(path: "/v2/a/blobs/uploads/xyz") == .upload(name: "a", session: "xyz"))
        #expect(Route(path: "/v2/a/manifests/latest") == .manifest(name: "a", reference: "latest"))
        #expect(Route(path: "/v2/a/tags/list") == .tags(name: "a"))
        #expect(Route(path: "/v2/a/referrers/\(digest)") == .referrers(name: "a", digest: digest))
        // Reserved words may be repository segments.
        #expect(Route(path: "/v2/blobs/manifests/manifests/v1") == .manifest(name: "blobs/manifests", reference: "v1"))
        #expect(Route(path: "/v2/tags/list/tags/list") == .tags(name: "tags/list"))
    }

    @Test func segmentsArePercentDecoded() {
        #expect(Route(path: "/v2/a%2Fb/manifests/v%31") == .manifest(name: "a/b", reference: "v1"))
    }

    @Test func theRootAndUIPathsAreTheWebUI() {
        #expect(Route(path: "/") == .ui(page: ""))
        #expect(Route(path: "/ui/image") == .ui(page: "image"))
        #expect(Route(path: "/ui/") == .ui(page: ""))
    }

    @Test(arguments: ["", "/v1/", "/ui", "/v2/manifests/x", "/v2/a/unknown/x", "/v2/a", "/v2/blobs/uploads", "v2/a/tags/list", "/v2//manifests"])
    func otherPathsHaveNoRoute(path: String) {
        #expect(Route(path: path) == nil)
    }
}
