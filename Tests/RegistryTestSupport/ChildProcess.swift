import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes for the tests, started with `posix_spawn` directly. Foundation's
/// `Process.run()` crashed the test binary (SIGSEGV in `memcpy` inside it) about one run in
/// five once the suites started many programs while the registries under test opened and
/// closed sockets on other threads, even with every launch serialized; this path has no shared
/// state to race on. Standard input, output and error are files, so no pipe can fill and stall.
public struct ChildProcess: Sendable {
    public let pid: pid_t

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What a finished program left: its exit status (128 + the signal when killed) and output.
    public struct Result: Sendable {
        public var status: Int32
        public var output: [UInt8]
        public var errors: [UInt8]
    }

    /// Starts `path` with `arguments`, the test process's environment without its `REGISTRY_*`
    /// variables (which would be unknown configuration keys to `registry`), in `directory`.
    /// Its standard streams are the given files (`/dev/null` when nil).
    public static func spawn(
        _ path: String, arguments: [String], directory: String? = nil,
        input: String? = nil, output: String? = nil, errors: String? = nil
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errors ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Nothing else the test process has open goes with the child: an inherited descriptor
        // (a registry's file on a test's tmpfs, say) would outlive that test in a long-running
        // child and keep its file system busy.
        try closeInheritedDescriptors(&actions)
        // Glibc's chdir file action is not visible to Swift: coreutils' env changes directory.
        let (path, arguments) = directory.map { ("/usr/bin/env", ["-C", $0, path] + arguments) } ?? (path, arguments)
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REGISTRY_") }.map { "\($0.key)=\($0.value)" }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw Failure(description: "cannot start \(path): \(String(cString: strerror(result)))") }
        return ChildProcess(pid: pid)
    }

    /// Glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), looked up at run time because
    /// Swift's Glibc module does not declare the GNU extensions of `spawn.h`.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw Failure(description: "posix_spawn_file_actions_addclosefrom_np is missing: glibc 2.34 or newer is needed")
        }
        let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
        let result = addCloseFrom(&actions, 3)
        guard result == 0 else { throw Failure(description: "closefrom action: \(String(cString: strerror(result)))") }
    }

    /// Waits for the program to end; its exit status, or 128 + the signal that killed it.
    @discardableResult
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    public func terminate() {
        kill(pid, SIGTERM)
    }

    /// Runs a program to its end, feeding it `input`; blocks the calling thread.
    public static func run(_ path: String, arguments: [String], input: [UInt8] = [], directory: String? = nil) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Data(input).write(to: URL(fileURLWithPath: scratch + "/in"))
        let child = try spawn(
            path, arguments: arguments, directory: directory, input: scratch + "/in", output: scratch + "/out", errors: scratch + "/err")
        let status = child.wait()
        return Result(
            status: status, output: Array((try? Data(contentsOf: URL(fileURLWithPath: scratch + "/out"))) ?? Data()),
            errors: Array((try? Data(contentsOf: URL(fileURLWithPath: scratch + "/err"))) ?? Data()))
    }
}
