import Foundation
import RegistryTestSupport

/// Runs the machine's `gzip`, `zstd` and GNU `tar` for interoperability tests.
enum CommandLineTool {
    /// The tool's path on `PATH`, nil when it is not installed.
    static func path(of name: String) -> String? {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.lazy
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func isAvailable(_ name: String) -> Bool { path(of: name) != nil }

    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var standardError: String
        var description: String { "\(command) exited with \(status): \(standardError)" }
    }

    /// Runs `name` with `arguments` in `directory`, feeding it `input` on standard input, and
    /// returns its standard output. Throws when it exits with a non-zero status.
    @discardableResult
    static func run(_ name: String, _ arguments: [String], in directory: URL? = nil, input: [UInt8] = []) throws -> [UInt8] {
        guard let path = path(of: name) else { throw Failure(command: name, status: -1, standardError: "not installed") }
        let scratch = try TemporaryDirectory()
        // Files rather than pipes: nothing can block on a full pipe buffer.
        let inputURL = scratch.url.appendingPathComponent("stdin")
        let outputURL = scratch.url.appendingPathComponent("stdout")
        let errorURL = scratch.url.appendingPathComponent("stderr")
        try Data(input).write(to: inputURL)
        try Data().write(to: outputURL)
        try Data().write(to: errorURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let stdin = try FileHandle(forReadingFrom: inputURL)
        let stdout = try FileHandle(forWritingTo: outputURL)
        let stderr = try FileHandle(forWritingTo: errorURL)
        defer {
            try? stdin.close()
            try? stdout.close()
            try? stderr.close()
        }
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try ProcessLaunches.run(process)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorURL, encoding: .utf8)) ?? ""
            throw Failure(command: ([name] + arguments).joined(separator: " "), status: process.terminationStatus, standardError: message)
        }
        return [UInt8](try Data(contentsOf: outputURL))
    }
}

/// A directory under the system's temporary directory, removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("RegistryLayersTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// Writes `bytes` to `relativePath`, creating the directories on the way.
    func write(_ bytes: [UInt8], to relativePath: String) throws {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
    }

    func read(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url.appendingPathComponent(relativePath)))
    }
}
