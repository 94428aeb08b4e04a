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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        // The tests' own REGISTRY_TEST_* variables would be unknown configuration keys to `registry`.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REGISTRY_") }
        let standardInput = Pipe(), standardOutput = Pipe(), standardError = Pipe()
        process.standardInput = standardInput
        process.standardOutput = standardOutput
        process.standardError = standardError
        try ProcessLaunches.run(process)
        // Standard error is drained beside standard output, so neither pipe can fill and stall
        // the program.
        let errors = LockedData()
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            errors.set(standardError.fileHandleForReading.readDataToEndOfFile())
            drained.signal()
        }
        if let input { standardInput.fileHandleForWriting.write(input) }
        try standardInput.fileHandleForWriting.close()
        let output = standardOutput.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: output, errors: errors.get())
    }
}

/// Bytes handed from the thread that drains standard error.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
