import ArgumentParser
import RegistryCore
import RegistryServer
import RegistryStorage

/// `registry audit`: the audit log, newest records last.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the audit log: who pulled, pushed, deleted and signed in.",
        discussion: "Prints the newest --limit records that match, oldest first.")

    @Option(help: "Only records this recent: a duration (90s, 15m, 24h, 7d) or an RFC 3339 time.")
    var since = "24h"

    @Option(help: "Only this user or robot.")
    var user: String?

    @Option(help: "Only this repository.")
    var repository: String?

    @Option(help: "Only this action: pull, push, delete, login, gc, delete-repository.")
    var action: String?

    @Option(help: "At most this many records.")
    var limit = 100

    @Flag(help: "Print JSON (what GET /v2/_admin/audit serves).")
    var json = false

    @OptionGroup var root: RootOptions

    func run() async throws {
        guard let since = AuditTime.since(since) else {
            throw ValidationError("--since must be a duration such as 24h or an RFC 3339 time")
        }
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        let query = AuditQuery(since: since, user: user, repository: repository, action: action, limit: limit)
        print(try await root.withRoot { try await $0.audit(query, json: json) })
    }
}
