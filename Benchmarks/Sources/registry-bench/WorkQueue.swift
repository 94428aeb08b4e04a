import NIOConcurrencyHelpers
import NIOCore

/// Hands out job numbers 0..<count to concurrent workers.
final class WorkQueue: Sendable {
    private let next = NIOLockedValueBox(0)
    private let count: Int

    init(count: Int) {
        self.count = count
    }

    func take() -> Int? {
        next.withLockedValue { next in
            guard next < count else { return nil }
            defer { next += 1 }
            return next
        }
    }

    /// Runs `workers` tasks that each call `job` for numbers taken from the queue, each on its
    /// own connection; the first failure fails the whole run.
    static func run(
        jobs: Int, workers: Int, target: Target, group: any EventLoopGroup,
        _ job: @escaping @Sendable (SequentialConnection, Int) async throws -> Void
    ) async throws {
        try await run(jobs: jobs, workers: workers, targets: [target], group: group) { connections, _, number in
            try await job(connections[0], number)
        }
    }

    /// Runs `workers` tasks that each hold one connection to every target (the replicas of a
    /// cluster) and call `job(connections, worker, number)` for numbers taken from the queue;
    /// the first failure fails the whole run.
    static func run(
        jobs: Int, workers: Int, targets: [Target], group: any EventLoopGroup,
        _ job: @escaping @Sendable ([SequentialConnection], Int, Int) async throws -> Void
    ) async throws {
        let queue = WorkQueue(count: jobs)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for worker in 0..<workers {
                tasks.addTask {
                    try await SequentialConnection.with(targets, group: group) { connections in
                        while let number = queue.take() {
                            try await job(connections, worker, number)
                        }
                    }
                }
            }
            try await tasks.waitForAll()
        }
    }
}
