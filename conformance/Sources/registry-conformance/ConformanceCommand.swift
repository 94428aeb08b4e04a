import ArgumentParser
import ConformanceKit
import Foundation

@main
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry-conformance",
        abstract: "Check a container registry against the OCI distribution-spec (v1.1, or the main-branch draft).",
        discussion: """
            Pushes its own test content to the two repositories, checks every feature of the spec,
            prints PASS/FAIL/SKIP per check grouped by feature, a feature matrix and a summary line,
            and deletes what it pushed. With --read-only it pushes nothing and checks existing
            content instead (GET and HEAD requests only). Exits with status 1 when any check failed.
            """
    )

    @Argument(help: "The registry's base URL, e.g. http://127.0.0.1:5000 or https://registry.example.com.")
    var url: String

    @Option(help: "The spec version to check: 1.1 (the latest release) or dev (the main branch: adds multi-tag push, digest-algorithm uploads, upload cancel).")
    var spec: SpecVersion = .v1_1

    @Option(name: .customLong("feature"), help: "Run only this feature (repeatable): a name such as 'blob range', a prefix such as 'blob push', or 'sha512'. See --list-features.")
    var features: [String] = []

    @Flag(help: "List the features of --spec and exit.")
    var listFeatures = false

    @Option(help: "Repository the checks push to and pull from (with --read-only: the repository holding --tag/--digest).")
    var repository = "conformance/main"

    @Option(help: "Second repository, the source of cross-repository mounts.")
    var mountFrom = "conformance/mount-source"

    @Flag(help: "Check existing content without writing: only GET and HEAD requests. Needs --tag or --digest.")
    var readOnly = false

    @Option(name: .customLong("tag"), help: "With --read-only: a tag in --repository to check (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("digest"), help: "With --read-only: a manifest digest in --repository to check (repeatable).")
    var digests: [String] = []

    @Option(help: "User name (the password is read from --password or REGISTRY_PASSWORD).")
    var username: String?

    @Option(help: "Password for --username.")
    var password: String?

    @Option(help: "A bearer token to send with every request.")
    var token: String?

    @Flag(help: "Run the pull features only (may be combined with the other workflow flags).")
    var pull = false
    @Flag(help: "Run the push features only.")
    var push = false
    @Flag(help: "Run the content-discovery features only (tags, referrers).")
    var contentDiscovery = false
    @Flag(help: "Run the content-management features only (deletes).")
    var contentManagement = false

    @Option(help: "Write a JUnit XML report to this file (one test suite per feature).")
    var junit: String?

    @Option(help: "Write a self-contained HTML report (feature matrix, every check, the exchanges of failed checks) to this file.")
    var html: String?

    func validate() throws {
        if readOnly && tags.isEmpty && digests.isEmpty { throw ValidationError("--read-only needs at least one --tag or --digest") }
        if !readOnly && !(tags.isEmpty && digests.isEmpty) { throw ValidationError("--tag and --digest are for --read-only") }
        let known = CheckCatalog.features(for: .dev)
        for filter in features where !known.contains(where: { $0.matches(filter) }) {
            throw ValidationError("unknown feature '\(filter)'; known: \(known.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        if listFeatures {
            for feature in CheckCatalog.features(for: spec) { print(feature.name) }
            return
        }
        var workflows: Set<Workflow> = []
        if pull { workflows.insert(.pull) }
        if push { workflows.insert(.push) }
        if contentDiscovery { workflows.insert(.contentDiscovery) }
        if contentManagement { workflows.insert(.contentManagement) }
        if workflows.isEmpty { workflows = Set(Workflow.allCases) }

        var credentials: ConformanceConfiguration.Credentials?
        if let token {
            credentials = .bearer(token: token)
        } else if let username {
            guard let password = password ?? ProcessInfo.processInfo.environment["REGISTRY_PASSWORD"] else {
                throw ValidationError("--username needs --password or REGISTRY_PASSWORD")
            }
            credentials = .basic(username: username, password: password)
        }

        let runner = ConformanceRunner(configuration: ConformanceConfiguration(
            baseURL: url, repository: repository, mountSourceRepository: mountFrom,
            credentials: credentials, workflows: workflows, spec: spec, features: features,
            readOnly: readOnly ? .init(tags: tags, digests: digests) : nil))
        let printer = GroupedPrinter()
        let report = await runner.run { result in printer.print(result) }
        print("")
        print(report.matrix.text)
        print("")
        print(report.summary)
        if let junit {
            try JUnitReport.render(report).write(toFile: junit, atomically: true, encoding: .utf8)
        }
        if let html {
            try HTMLReport.render(report).write(toFile: html, atomically: true, encoding: .utf8)
        }
        if report.failed > 0 { throw ExitCode(1) }
    }
}

extension SpecVersion: ExpressibleByArgument {}

/// Prints results as they come, with a `== feature` line before each feature's first.
final class GroupedPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var feature: String?

    func print(_ result: CheckResult) {
        lock.withLock {
            if feature != result.check.feature.name {
                feature = result.check.feature.name
                Swift.print("== \(result.check.feature.name)")
            }
            Swift.print(result.line)
        }
    }
}
