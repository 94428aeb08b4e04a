import AsyncHTTPClient
import NIOHTTP1

/// Runs the selected checks one after another against a registry, then removes what they pushed.
public struct ConformanceRunner: Sendable {
    public let configuration: ConformanceConfiguration

    public init(configuration: ConformanceConfiguration) {
        self.configuration = configuration
    }

    /// The checks this runner runs, in order.
    public var checks: [Check] { CheckCatalog.checks(for: configuration) }

    /// Runs the selected checks, reporting each result as it is known.
    public func run(onResult: @Sendable (CheckResult) -> Void = { _ in }) async -> ConformanceReport {
        let client = ConformanceClient(configuration: configuration)
        let run = RunState()
        var results: [CheckResult] = []
        let started = ContinuousClock.now
        for check in checks {
            let recorder = ExchangeRecorder()
            let context = CheckContext(
                client: client, configuration: configuration, recorder: recorder, run: run, algorithm: check.feature.algorithm ?? .sha256)
            let start = ContinuousClock.now
            let outcome: CheckOutcome
            do {
                try await check.body(context)
                outcome = .passed
            } catch let skipped as CheckSkipped {
                outcome = .skipped(skipped.description)
            } catch let failure as CheckFailure {
                outcome = .failed(failure.description)
            } catch {
                outcome = .failed("request failed: \(error)")
            }
            let result = CheckResult(check: check, outcome: outcome, exchanges: recorder.all, duration: ContinuousClock.now - start)
            onResult(result)
            results.append(result)
        }
        if configuration.readOnly == nil { await cleanUp(run, client: client) }
        return ConformanceReport(registry: configuration.baseURL, spec: configuration.spec, results: results, duration: ContinuousClock.now - started)
    }

    /// Deletes what the checks pushed, best effort (a registry may not allow deletes).
    private func cleanUp(_ run: RunState, client: ConformanceClient) async {
        let recorder = ExchangeRecorder()
        for (repository, digest) in run.createdManifests.reversed() {
            _ = try? await client.send(.DELETE, "/v2/\(repository)/manifests/\(digest)", recorder: recorder)
        }
        for (repository, digest) in run.createdBlobs {
            _ = try? await client.send(.DELETE, "/v2/\(repository)/blobs/\(digest)", recorder: recorder)
        }
    }
}

/// The results of one run.
public struct ConformanceReport: Sendable {
    public let registry: String
    public let spec: SpecVersion
    public let results: [CheckResult]
    public let duration: Duration

    public var passed: Int { results.filter { $0.outcome == .passed }.count }
    public var failed: Int { results.filter(\.outcome.isFailure).count }
    public var skipped: Int { results.filter(\.outcome.isSkip).count }

    /// `N passed, M failed, K skipped`.
    public var summary: String { "\(passed) passed, \(failed) failed, \(skipped) skipped" }

    public var failedCheckNames: [String] {
        results.filter(\.outcome.isFailure).map(\.check.name)
    }

    /// Names of the features with at least one failed check.
    public var failedFeatureNames: [String] {
        matrix.rows.filter { $0.failed > 0 }.map(\.feature.name)
    }

    public var matrix: FeatureMatrix { FeatureMatrix(results) }
}

extension CheckOutcome {
    var isFailure: Bool { if case .failed = self { true } else { false } }
    var isSkip: Bool { if case .skipped = self { true } else { false } }
}
