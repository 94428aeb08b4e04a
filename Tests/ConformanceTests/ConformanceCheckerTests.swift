import ConformanceKit
import Foundation
import RegistryTestSupport
import RegistryCore
import RegistryServer
import Testing

@Suite("Conformance checker")
struct ConformanceCheckerTests {
    /// Where distribution 2.8 (Debian's docker-registry) deviates from the spec, and why. The
    /// checker must fail exactly these against it, and pass everything else: this is what
    /// proves that the checker can fail.
    static let referenceDeviations: [String: String] = [
        "invalidRepositoryNameIsRejectedWithNameInvalid": "distribution 2.8 routes only valid names; any other gets a plain-text 404, not NAME_INVALID",
        "chunkWhoseBodyDoesNotMatchItsRangeIsRejected": "distribution 2.8 accepts a chunk shorter than its Content-Range (202)",
        "outOfOrderChunkIs416": "distribution 2.8 accepts a chunk that does not continue the upload (202, not 416)",
        "repeatedChunkIs416": "distribution 2.8 accepts a chunk it already has (202, not 416)",
        "manifestWithAMissingSubjectIsAcceptedWithOCISubject": "distribution 2.8 predates OCI 1.1: no subject handling, no OCI-Subject header",
        "oversizedManifestIsRejectedWith413": "distribution 2.8 answers 400 MANIFEST_INVALID (\"request body too large\") instead of 413",
        "tagListContainsThePushedTagsInLexicalOrder": "distribution 2.8 lists tags in storage order, not lexical order",
        "tagListHonoursNWithALinkToTheNextPage": "distribution 2.8 ignores n on tags/list",
        "tagListHonoursLast": "distribution 2.8 ignores n and last on tags/list",
        "tagListWithNZeroIsEmpty": "distribution 2.8 ignores n=0 and returns every tag",
        "referrersListManifestsWhoseSubjectIsTheDigest": "distribution 2.8 has no referrers API (404 page not found)",
        "referrersFilterByArtifactType": "distribution 2.8 has no referrers API (404 page not found)",
        "referrersOfAnUnknownDigestIsAnEmptyIndex": "distribution 2.8 has no referrers API (404 page not found)",
        "deletingATagRemovesOnlyTheTag": "distribution 2.8 only deletes manifests by digest; DELETE of a tag is a 400",
    ]

    @Test func everyCheckPassesAgainstOurRegistry() async throws {
        let registry = try await TestRegistry.start()
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(baseURL: registry.baseURL)).run()
        await registry.stop()
        for result in report.results where result.outcome != .passed {
            Issue.record("\(result.line)")
        }
        #expect(report.passed == ConformanceRunner.allChecks.count)
        #expect(report.summary == "\(ConformanceRunner.allChecks.count) passed, 0 failed, 0 skipped")
    }

    @Test(.enabled(if: ReferenceRegistry.isInstalled || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs Debian's docker-registry package (apt-get install docker-registry)"))
    func checkerFailsExactlyTheReferenceRegistrysKnownDeviations() async throws {
        try #require(ReferenceRegistry.isInstalled, "docker-registry is not installed at \(ReferenceRegistry.binary)")
        let reference = try await ReferenceRegistry()
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(baseURL: reference.baseURL)).run()
        reference.stop()
        #expect(Set(report.failedCheckNames) == Set(Self.referenceDeviations.keys))
        #expect(report.skipped == 0)
        for result in report.results {
            let expectedToFail = Self.referenceDeviations[result.check.name] != nil
            switch result.outcome {
            case .passed where expectedToFail: Issue.record("passed, but the reference deviates: \(result.line)")
            case .failed where !expectedToFail: Issue.record("unexpected failure: \(result.line)")
            default: break
            }
        }

        let junit = JUnitReport.render(report)
        #expect(junit.contains("failures=\"\(Self.referenceDeviations.count)\""))
        #expect(junit.contains("<failure message=\"expected PATCH 20-29 after 0-9 to answer 416, got 202\"/>"))
        let html = HTMLReport.render(report)
        #expect(html.contains("<h3 class=\"fail\">outOfOrderChunkIs416"))
        #expect(html.contains("&gt; PATCH \(reference.baseURL)/v2/conformance/main/blobs/uploads/"))
        #expect(html.contains("Content-Range: 20-29"))
    }

    @Test func checksOfDisabledFeaturesAreSkippedWithTheRegistrysReason() async throws {
        let registry = try await TestRegistry.start(configure: { $0.deletesEnabled = false })
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: registry.baseURL, workflows: [.contentManagement])).run()
        await registry.stop()
        #expect(report.failed == 0)
        #expect(report.skipped == report.results.count)
        for result in report.results {
            guard case .skipped(let reason) = result.outcome else { continue }
            #expect(reason.contains("405") && reason.contains("UNSUPPORTED"), "\(reason)")
        }
    }

    @Test func workflowsCanBeSelected() async throws {
        let registry = try await TestRegistry.start()
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: registry.baseURL, workflows: [.pull])).run()
        await registry.stop()
        #expect(!report.results.isEmpty)
        #expect(report.results.allSatisfy { $0.check.workflow == .pull })
    }
}

@Suite("Conformance checker credentials")
struct ConformanceCredentialTests {
    /// `htpasswd -Bbn tester s3cret`
    static let htpasswd = #"tester:$2y$05$fd89uQe6shDVTEikIpcC3euIRTKYdaCAb5HILYYTNgSx0Uja9N40O"# + "\n"

    @Test(.enabled(if: ReferenceRegistry.isInstalled || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs Debian's docker-registry package (apt-get install docker-registry)"))
    func basicCredentialsAreSentWhenChallengedAndNeverReported() async throws {
        try #require(ReferenceRegistry.isInstalled, "docker-registry is not installed at \(ReferenceRegistry.binary)")
        let reference = try await ReferenceRegistry(htpasswd: Self.htpasswd)
        let anonymous = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: reference.baseURL, workflows: [.pull])).run()
        let authenticated = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: reference.baseURL, credentials: .basic(username: "tester", password: "s3cret"), workflows: [.pull])).run()
        let wrongPassword = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: reference.baseURL, credentials: .basic(username: "tester", password: "wrong"), workflows: [.pull])).run()
        reference.stop()

        #expect(anonymous.passed == 0)
        #expect(authenticated.failed == 0 && authenticated.passed == authenticated.results.count)
        #expect(wrongPassword.passed == 0)
        let secret = Data("tester:s3cret".utf8).base64EncodedString()
        for report in [authenticated, wrongPassword] {
            let html = HTMLReport.render(report)
            #expect(!html.contains(secret) && !html.contains("s3cret"))
        }
        #expect(HTMLReport.render(wrongPassword).contains("Authorization: Basic &lt;redacted&gt;"))
    }
}

@Suite("Conformance checker in token mode")
struct ConformanceTokenModeTests {
    /// Our registry in token mode, driven through the checker's Bearer flow (challenge, token
    /// request with Basic credentials, retry) by a user with every right.
    @Test func everyCheckPassesThroughTheTokenFlow() async throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        try Htpasswd.setPassword("checker-pw", for: "checker", in: directory + "/htpasswd", cost: 4)
        // The realm must name the port, which the OS picks: bind once to learn it, then serve
        // on that port with the realm pointing at it. Tests running in parallel may take the
        // port in between, so try again with a fresh one.
        var started: TestRegistry?
        for _ in 0..<10 where started == nil {
            let probe = try await TestRegistry.start()
            let port = probe.port
            await probe.stop()
            started = try? await TestRegistry.start(configure: {
                $0.htpasswd = directory + "/htpasswd"
                $0.tokenRealm = "http://127.0.0.1:\(port)/token"
                $0.port = port
            })
        }
        let registry = try #require(started)
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: registry.baseURL, credentials: .basic(username: "checker", password: "checker-pw"))).run()
        let anonymous = await ConformanceRunner(configuration: ConformanceConfiguration(baseURL: registry.baseURL, workflows: [.pull])).run()
        await registry.stop()
        for result in report.results where result.outcome != .passed {
            Issue.record("\(result.line)")
        }
        #expect(report.failed == 0 && report.skipped == 0)
        // Without credentials the checker gets an anonymous token: valid for GET /v2/, good for nothing else.
        #expect(anonymous.results.filter { $0.outcome == .passed }.map(\.check.name) == ["baseEndpointAnswers200"])
    }
}
