@testable import ConformanceKit
import Testing

@Suite("WWW-Authenticate parsing")
struct ChallengeParsingTests {
    @Test func bearerChallengeParametersAreParsed() {
        let parameters = ConformanceClient.challengeParameters(
            #" realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push""#)
        #expect(parameters["realm"] == "https://auth.example.com/token")
        #expect(parameters["service"] == "registry.example.com")
        #expect(parameters["scope"] == "repository:team/app:pull,push")
    }

    @Test func unquotedValuesAndSpacesAreTolerated() {
        let parameters = ConformanceClient.challengeParameters(#" realm=https://auth/token, service="svc""#)
        #expect(parameters["realm"] == "https://auth/token")
        #expect(parameters["service"] == "svc")
    }

    @Test func authorizationHeadersAreRedacted() {
        let redacted = Exchange.redacted([("Authorization", "Bearer abc.def.ghi"), ("Accept", "*/*")])
        #expect(redacted[0].1 == "Bearer <redacted>")
        #expect(redacted[1].1 == "*/*")
    }
}
