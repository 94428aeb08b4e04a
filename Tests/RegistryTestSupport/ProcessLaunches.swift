import Foundation

/// Starts child processes one at a time across the whole test process (every test target runs
/// in it): Foundation's `Process.run()` is not safe to call from several threads at once on
/// Linux (two launches racing crashed the suite in `memcpy` inside it). Waiting for a child is
/// not serialized.
public enum ProcessLaunches {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        try lock.withLock { try process.run() }
    }
}
