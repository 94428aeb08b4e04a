import AsyncHTTPClient
import NIOHTTP1

/// Runs the selected checks one after another against a registry, then removes what they pushed.
public struct ConformanceRunner: Sendable {
    public let configuration: ConformanceConfiguration

    public init(configuration: ConformanceConfiguration) {
        self.configuration = configuration
    }

    /// Every check, in the order they run.
    public static var allChecks: [Check] {
        Check.pull + Check.push + Check.contentDiscovery + Check.contentManagement
    }

    /// Runs the checks of the configured workflows, reporting each result as it is known.
    public func run(onResult: @Sendable (CheckResult) -> Void = { _ in }) async -> ConformanceReport {
        let client = ConformanceClient(configuration: configuration)
        let run = RunState()
        var results: [CheckResult] = []
        let started = ContinuousClock.now
        for check in Self.allChecks where configuration.workflows.contains(check.workflow) {
            let recorder = ExchangeRecorder()
            let context = CheckContext(client: client, configuration: configuration, recorder: recorder, run: run)
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
        await cleanUp(run, client: client)
        return ConformanceReport(registry: configuration.baseURL, results: results, duration: ContinuousClock.now - started)
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
    public let results: [CheckResult]
    public let duration: Duration

    public var passed: Int { results.filter { $0.outcome == .passed }.count }
    public var failed: Int { results.filter { if case .failed = $0.outcome { true } else { false } }.count }
    public var skipped: Int { results.filter { if case .skipped = $0.outcome { true } else { false } }.count }

    /// `N passed, M failed, K skipped`.
    public var summary: String { "\(passed) passed, \(failed) failed, \(skipped) skipped" }

    public var failedCheckNames: [String] {
        results.compactMap { if case .failed = $0.outcome { $0.check.name } else { nil } }
    }
}
