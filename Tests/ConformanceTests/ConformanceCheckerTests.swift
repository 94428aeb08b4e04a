import ConformanceKit
import Foundation
import RegistryTestSupport
import RegistryCore
import RegistryServer
import Testing

@Suite("Conformance checker")
struct ConformanceCheckerTests {
    /// The features on which distribution 2.8 (Debian's docker-registry) deviates from the
    /// main-branch spec, and why, as measured with `--spec dev`. The checker must fail exactly
    /// these features against it, and exactly the checks in `referenceFailingChecks`: this is
    /// what proves that the checks can fail.
    static let referenceFailingFeatures: [String: String] = [
        "manifest pull (sha512)": "distribution 2.8 refuses manifests pushed by a sha512 digest (400 DIGEST_INVALID), so there is nothing to pull",
        "blob range": "distribution 2.8 answers a range past the end with 416 and Content-Range: bytes */SIZE, but with the blob's Content-Length and no body: a malformed response",
        "blob range (sha512)": "as blob range",
        "blob push: monolithic": "distribution 2.8 routes only valid names; any other gets a plain-text 404, not 400 NAME_INVALID",
        "blob push: chunked": "distribution 2.8 accepts chunks out of order, repeated, or shorter than their Content-Range (202, not 416/400), and checks a final PUT chunk only by digest",
        "blob push: chunked (sha512)": "as blob push: chunked",
        "blob push: digest-algorithm": "distribution 2.8 ignores ?digest-algorithm=, so an unsupported algorithm opens a session (202) instead of a 400",
        "blob mount (sha512)": "distribution 2.8 answers 201 to a mount of a sha512 blob, which is then unknown in the target (404)",
        "manifest push": "distribution 2.8 answers a manifest over 4 MiB with 400 MANIFEST_INVALID, not 413",
        "manifest push (sha512)": "distribution 2.8 refuses manifests pushed by a sha512 digest (400 DIGEST_INVALID)",
        "content variants": "distribution 2.8 predates OCI 1.1 subjects (no OCI-Subject header, no referrers API) and refuses a manifest whose non-distributable layer was not pushed (500 with MANIFEST_BLOB_UNKNOWN)",
        "content variants (sha512)": "distribution 2.8 refuses manifests pushed by a sha512 digest (400 DIGEST_INVALID)",
        "multi-tag push": "distribution 2.8 ignores ?tag= on a push by digest: no tags, no OCI-Tag, an invalid tag not refused",
        "multi-tag push (sha512)": "as multi-tag push, and sha512 manifests are refused",
        "invalid references": "distribution 2.8 answers invalid tags with a plain-text 404 page, malformed digests with 500, and has no referrers API",
        "tags list": "distribution 2.8 lists tags in storage order, neither ASCIIbetical nor case-insensitive",
        "tag paging": "distribution 2.8 ignores n and last on tags/list and sends no Link",
        "referrers": "distribution 2.8 has no referrers API (404 page not found) and sends no OCI-Subject",
        "content management": "distribution 2.8 only deletes manifests by digest; DELETE of a tag is a 400",
    ]

    /// The failing checks of `referenceFailingFeatures`, with the registry's answer.
    static let referenceFailingChecks: [String: String] = {
        var checks: [String: String] = [
            "manifestPulledByTagIsByteExact_sha512": "setup: 400 DIGEST_INVALID for PUT /manifests/sha512:...",
            "manifestPulledByDigestIsByteExact_sha512": "setup: 400 DIGEST_INVALID for PUT /manifests/sha512:...",
            "manifestHeadReportsLengthAndDigest_sha512": "setup: 400 DIGEST_INVALID for PUT /manifests/sha512:...",
            "rangePastTheEndIs416": "416 with Content-Length of the blob and no body (the client sees the stream end early)",
            "rangePastTheEndIs416_sha512": "416 with Content-Length of the blob and no body",
            "invalidRepositoryNameIsRejectedWithNameInvalid": "404 page not found",
            "unsupportedDigestAlgorithmIsRejected": "202 for ?digest-algorithm=md5",
            "mountFromAnotherRepositoryCreatesBlob_sha512": "201, then 404 BLOB_UNKNOWN for GET of the Location",
            "oversizedManifestIsRejectedWith413": "400 MANIFEST_INVALID (http: request body too large)",
            "manifestPushedByDigestIs201WithLocationAndDigest_sha512": "400 DIGEST_INVALID",
            "manifestWithMissingBlobsIsRejected_sha512": "400 DIGEST_INVALID instead of MANIFEST_BLOB_UNKNOWN",
            "manifestWhoseDigestDoesNotMatchIsRejected_sha512": "setup: 400 DIGEST_INVALID",
            "imageWithReferrersRoundTrips": "no OCI-Subject",
            "manifestWithAMissingSubjectRoundTrips": "no OCI-Subject",
            "indexWithASubjectRoundTrips": "no OCI-Subject",
            "nonDistributableLayersAreNotRequired": "500 UNKNOWN + MANIFEST_BLOB_UNKNOWN",
            "invalidTagIsAnUnknownManifest": "404 page not found (no error body)",
            "malformedDigestIsAnUnknownManifest": "500 UNKNOWN",
            "deletingAnInvalidReferenceIsRejected": "404 page not found (no error body)",
            "pushToAnInvalidTagIsRejected": "404 page not found",
            "pushToAMalformedDigestIsRejected": "500 UNKNOWN",
            "referrersOfAMalformedDigestIs400": "404 page not found",
            "tagListContainsThePushedTagsInLexicalOrder": "storage order",
            "deletingATagRemovesOnlyTheTag": "400 DIGEST_INVALID",
        ]
        for name in ["chunkWhoseBodyDoesNotMatchItsRangeIsRejected", "outOfOrderChunkIs416", "outOfOrderFinalChunkInPutIs416", "repeatedChunkIs416"] {
            checks[name] = "202 (or 400 DIGEST_INVALID for the final PUT chunk)"
            checks[name + "_sha512"] = checks[name]
        }
        let wholeFeatures = ["content variants (sha512)", "multi-tag push", "multi-tag push (sha512)", "tag paging", "referrers"]
        for check in CheckCatalog.all where wholeFeatures.contains(check.feature.name) {
            checks[check.name] = referenceFailingFeatures[check.feature.name]
        }
        return checks
    }()

    /// Optional features the reference answers as unsupported, in the spec's way.
    static let referenceSkippedChecks: [String: String] = [
        "mountWithoutFromMountsTheBlob": "distribution 2.8 does not mount without from: 202, an upload session",
        "mountWithoutFromMountsTheBlob_sha512": "distribution 2.8 does not mount without from: 202, an upload session",
    ]

    @Test func everyCheckPassesAgainstOurRegistry() async throws {
        let registry = try await TestRegistry.start()
        let configuration = ConformanceConfiguration(baseURL: registry.baseURL, spec: .dev)
        let report = await ConformanceRunner(configuration: configuration).run()
        await registry.stop()
        for result in report.results where result.outcome != .passed {
            Issue.record("\(result.line)")
        }
        let expected = CheckCatalog.checks(for: configuration).count
        #expect(expected == CheckCatalog.all.count)
        #expect(report.summary == "\(expected) passed, 0 failed, 0 skipped")
        #expect(report.matrix.rows.map(\.feature) == CheckCatalog.features(for: .dev))
    }

    @Test(.enabled(if: ReferenceRegistry.isInstalled || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs Debian's docker-registry package (apt-get install docker-registry)"))
    func checkerFailsExactlyTheReferenceRegistrysKnownDeviations() async throws {
        try #require(ReferenceRegistry.isInstalled, "docker-registry is not installed at \(ReferenceRegistry.binary)")
        let reference = try await ReferenceRegistry()
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(baseURL: reference.baseURL, spec: .dev)).run()
        reference.stop()
        #expect(Set(report.failedFeatureNames) == Set(Self.referenceFailingFeatures.keys))
        #expect(Set(report.failedCheckNames) == Set(Self.referenceFailingChecks.keys))
        #expect(Set(report.results.filter { if case .skipped = $0.outcome { true } else { false } }.map(\.check.name))
                == Set(Self.referenceSkippedChecks.keys))
        for result in report.results {
            let expectedToFail = Self.referenceFailingChecks[result.check.name] != nil
            switch result.outcome {
            case .passed where expectedToFail: Issue.record("passed, but the reference deviates: \(result.line)")
            case .failed where !expectedToFail: Issue.record("unexpected failure: \(result.line)")
            default: break
            }
        }

        let junit = JUnitReport.render(report)
        #expect(junit.contains("failures=\"\(Self.referenceFailingChecks.count)\""))
        #expect(junit.contains(#"<testsuite name="blob push: chunked" tests="9" failures="4" skipped="0">"#))
        #expect(junit.contains("<failure message=\"expected PATCH 20-29 after 0-9 to answer 416, got 202\"/>"))
        let html = HTMLReport.render(report)
        #expect(html.contains(##"<a href="#feature-blob-push--chunked">blob push: chunked</a></td><td class="fail">FAIL</td><td>5</td><td>4</td><td>0</td>"##))
        #expect(html.contains(##"<a href="#feature-base">base</a></td><td class="pass">pass</td><td>1</td><td>0</td><td>0</td>"##))
        #expect(html.contains("<h3 class=\"fail\">outOfOrderChunkIs416"))
        #expect(html.contains("&gt; PATCH \(reference.baseURL)/v2/conformance/main/blobs/uploads/"))
        #expect(html.contains("Content-Range: 20-29"))
        #expect(report.matrix.text.contains("tag paging"))
    }

    @Test func checksOfDisabledFeaturesAreSkippedWithTheRegistrysReason() async throws {
        let registry = try await TestRegistry.start(configure: { $0.deletesEnabled = false })
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: registry.baseURL, workflows: [.contentManagement], spec: .dev)).run()
        await registry.stop()
        #expect(report.failed == 0)
        #expect(!report.results.isEmpty && report.skipped == report.results.count)
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

    @Test func featuresAreSelectedByNamePrefixOrAlgorithm() {
        func features(_ filters: [String], spec: SpecVersion = .dev) -> Set<String> {
            Set(CheckCatalog.checks(for: ConformanceConfiguration(baseURL: "http://x", spec: spec, features: filters)).map(\.feature.name))
        }
        #expect(features(["blob range"]) == ["blob range", "blob range (sha512)"])
        #expect(features(["blob range (sha512)"]) == ["blob range (sha512)"])
        #expect(features(["blob range (sha256)"]) == ["blob range"])
        #expect(features(["blob push"]) == [
            "blob push: monolithic", "blob push: monolithic (sha512)", "blob push: chunked", "blob push: chunked (sha512)",
            "blob push: digest verification", "blob push: digest verification (sha512)", "blob push: digest-algorithm",
        ])
        #expect(features(["sha512"]).allSatisfy { $0.hasSuffix("(sha512)") })
        #expect(features(["multi-tag push"], spec: .v1_1).isEmpty)
    }

    @Test func specOneDotOneLeavesOutTheMainBranchFeatures() {
        let stable = Set(CheckCatalog.features(for: .v1_1).map(\.name))
        let dev = Set(CheckCatalog.features(for: .dev).map(\.name))
        #expect(dev.subtracting(stable) == ["blob push: digest-algorithm", "blob upload cancel", "multi-tag push", "multi-tag push (sha512)"])
        #expect(CheckCatalog.checks(for: ConformanceConfiguration(baseURL: "http://x")).allSatisfy { $0.since == .v1_1 })
    }

    /// A read-only run against content pushed beforehand: every check passes, and it sent
    /// nothing but GET and HEAD, so the registry holds exactly what it held before.
    @Test func readOnlyRunOnlyReadsExistingContent() async throws {
        let registry = try await TestRegistry.start()
        let content = try await ReadOnlyFixture.push(to: registry.baseURL, repository: "existing/app")
        let tagsBefore = try await ReadOnlyFixture.tags(of: "existing/app", at: registry.baseURL)
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: registry.baseURL, repository: "existing/app", spec: .dev,
            readOnly: .init(tags: content.tags, digests: content.digests))).run()
        let tagsAfter = try await ReadOnlyFixture.tags(of: "existing/app", at: registry.baseURL)
        await registry.stop()
        for result in report.results where result.outcome != .passed {
            Issue.record("\(result.line)")
        }
        #expect(report.failed == 0 && report.skipped == 0)
        #expect(Set(report.matrix.rows.map(\.feature.name)) == ["manifest pull", "blob pull", "blob range", "tags list", "referrers"])
        let methods = Set(report.results.flatMap(\.exchanges).map(\.method))
        #expect(methods.isSubset(of: ["GET", "HEAD"]), "sent \(methods)")
        #expect(tagsBefore == tagsAfter)
    }

    @Test func readOnlyRunFailsOnContentThatIsNotThere() async throws {
        let registry = try await TestRegistry.start()
        let report = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: registry.baseURL, repository: "existing/none", readOnly: .init(tags: ["missing"]))).run()
        await registry.stop()
        #expect(report.passed == 0 && report.failed == report.results.count)
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
        // Features the reference passes entirely.
        let features = ["base", "manifest pull (sha256)", "blob pull"]
        let anonymous = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: reference.baseURL, features: features)).run()
        let authenticated = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: reference.baseURL, credentials: .basic(username: "tester", password: "s3cret"), features: features)).run()
        let wrongPassword = await ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: reference.baseURL, credentials: .basic(username: "tester", password: "wrong"), features: features)).run()
        reference.stop()

        #expect(anonymous.passed == 0)
        #expect(!authenticated.results.isEmpty && authenticated.failed == 0 && authenticated.passed == authenticated.results.count)
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
            baseURL: registry.baseURL, credentials: .basic(username: "checker", password: "checker-pw"), spec: .dev)).run()
        let anonymous = await ConformanceRunner(configuration: ConformanceConfiguration(baseURL: registry.baseURL, workflows: [.pull])).run()
        await registry.stop()
        // With access control, a mount needs `from`: the registry checks the user may pull from
        // the source, so without it it opens an upload session (202), which the checker skips.
        let skippedByDesign: Set = ["mountWithoutFromMountsTheBlob", "mountWithoutFromMountsTheBlob_sha512"]
        for result in report.results where result.outcome != .passed && !skippedByDesign.contains(result.check.name) {
            Issue.record("\(result.line)")
        }
        #expect(report.failed == 0 && report.skipped == skippedByDesign.count)
        // Without credentials the checker gets an anonymous token: valid for GET /v2/, good for nothing else.
        #expect(anonymous.results.filter { $0.outcome == .passed }.map(\.check.name) == ["baseEndpointAnswers200"])
    }
}
