import Foundation

/// Starts a child process, one launch at a time across the test process: Foundation's
/// `Process.run()` is not safe to call from several threads at once on Linux (two launches
/// racing crashed the suite in `memcpy` inside it). Waiting for the child is not serialized.
enum ProcessLaunch {
    private static let lock = NSLock()

    static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
