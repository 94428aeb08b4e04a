import ArgumentParser
import ConformanceKit
import Foundation

@main
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry-conformance",
        abstract: "Check a container registry against the OCI distribution-spec v1.1.",
        discussion: """
            Pushes its own test content to the two repositories, checks every endpoint of the spec,
            prints PASS/FAIL/SKIP per check and a summary line, and deletes what it pushed.
            Exits with status 1 when any check failed.
            """
    )

    @Argument(help: "The registry's base URL, e.g. http://127.0.0.1:5000 or https://registry.example.com.")
    var url: String

    @Option(help: "Repository the checks push to and pull from.")
    var repository = "conformance/main"

    @Option(help: "Second repository, the source of cross-repository mounts.")
    var mountFrom = "conformance/mount-source"

    @Option(help: "User name (the password is read from --password or REGISTRY_PASSWORD).")
    var username: String?

    @Option(help: "Password for --username.")
    var password: String?

    @Option(help: "A bearer token to send with every request.")
    var token: String?

    @Flag(help: "Run the pull checks.")
    var pull = false
    @Flag(help: "Run the push checks.")
    var push = false
    @Flag(help: "Run the content-discovery checks (tags, referrers).")
    var contentDiscovery = false
    @Flag(help: "Run the content-management checks (deletes).")
    var contentManagement = false

    @Option(help: "Write a JUnit XML report to this file.")
    var junit: String?

    @Option(help: "Write a self-contained HTML report (with the exchanges of failed checks) to this file.")
    var html: String?

    func run() async throws {
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
            credentials: credentials, workflows: workflows))
        let report = await runner.run { result in
            print(result.line)
        }
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
