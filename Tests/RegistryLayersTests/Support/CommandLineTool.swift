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
        let result = try ChildProcess.run(path, arguments: arguments, input: input, directory: directory?.path)
        guard result.status == 0 else {
            throw Failure(command: ([name] + arguments).joined(separator: " "), status: result.status,
                          standardError: String(decoding: result.errors, as: UTF8.self))
        }
        return result.output
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
