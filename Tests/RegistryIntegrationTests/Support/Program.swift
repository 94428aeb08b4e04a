import Foundation
import RegistryTestSupport

/// Runs programs from the tests: the built `registry` binary, and the system tools some tests
/// drive (tar, gzip, mount, Debian's python3).
enum Program {
    struct Result {
        var status: Int32
        var output: Data
        var errors: Data
        /// Standard output only (what `--json` prints).
        var json: Data { output }
        /// Standard output, then standard error.
        var text: String { String(decoding: output + errors, as: UTF8.self) }

        /// Standard output; throws with standard error when the program failed.
        func checked(_ what: String) throws -> String {
            guard status == 0 else {
                throw TestFailure("\(what) failed (\(status)): \(String(decoding: errors, as: UTF8.self))")
            }
            return String(decoding: output, as: UTF8.self)
        }
    }

    /// The `registry` executable built next to the test bundle.
    static var registry: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("registry").path
    }

    static func run(_ path: String, _ arguments: String..., input: Data? = nil) async throws -> Result {
        try await run(path, arguments: arguments, input: input)
    }

    /// Runs on a thread of its own: blocking one of the few threads Swift concurrency runs on
    /// would starve a registry this process serves the program with.
    static func run(_ path: String, arguments: [String], input: Data? = nil) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try runBlocking(path, arguments: arguments, input: input) })
            }
        }
    }

    private static func runBlocking(_ path: String, arguments: [String], input: Data?) throws -> Result {
        let result = try ChildProcess.run(path, arguments: arguments, input: Array(input ?? Data()))
        return Result(status: result.status, output: Data(result.output), errors: Data(result.errors))
    }
}
