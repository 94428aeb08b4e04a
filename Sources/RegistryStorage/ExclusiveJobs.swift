#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Background work that only one process at a time should do among those sharing a database
/// (replicas of one registry; `registry serve` and a maintenance command on one root): garbage
/// collection, scrubbing, upload expiry, cache eviction.
///
/// A claim lasts as long as the job, or as long as its process: a replica killed mid-job frees
/// its claims with its connection or its file descriptors, and every job is written so that the
/// next run finishes what a killed one left (tombstones, expiry by age), so nothing stays
/// half-done.
public protocol ExclusiveJobs: Sendable {
    /// Runs `body` unless another process (or task) is running the job named `job`; returns
    /// nil then, without waiting.
    func runExclusively<T: Sendable>(_ job: String, _ body: @Sendable () async throws -> T) async throws -> T?
}

/// A job claim on one machine: an exclusive `flock` on a file beside the database, which the
/// kernel releases when the process dies.
struct JobLockFile {
    private let descriptor: Int32

    /// Claims `path`, creating it; nil when another open file description holds it.
    static func claim(_ path: String) throws -> JobLockFile? {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw JobLockError.cannotOpen(path: path, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            close(descriptor)
            if error == EWOULDBLOCK { return nil }
            throw JobLockError.cannotLock(path: path, errno: error)
        }
        return JobLockFile(descriptor: descriptor)
    }

    func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

public enum JobLockError: Error, Equatable {
    case cannotOpen(path: String, errno: Int32)
    case cannotLock(path: String, errno: Int32)
}

extension SQLiteMetadataStore: ExclusiveJobs {
    public func runExclusively<T: Sendable>(_ job: String, _ body: @Sendable () async throws -> T) async throws -> T? {
        guard let claim = try JobLockFile.claim("\(path)-\(job).lock") else { return nil }
        defer { claim.release() }
        return try await body()
    }
}
