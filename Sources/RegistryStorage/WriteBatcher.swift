import NIOConcurrencyHelpers

/// Group commit's queue, whatever the database: writes that arrive while a batch is being
/// committed wait here, and the next batch takes them all (up to `maximumBatch`), so that a burst
/// of small writes pays a transaction's fixed costs once. `run` commits one batch and reports each
/// write's own outcome, in order; one task at a time runs batches.
package final class WriteBatcher<Write: Sendable, Output: Sendable>: Sendable {
    package typealias Run = @Sendable ([Write]) async -> [Result<Output, any Error>]

    private struct Waiting: Sendable {
        var write: Write
        var continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var isRunning = false
    }

    private let state = NIOLockedValueBox(State())
    private let maximumBatch: Int
    private let run: Run

    package init(maximumBatch: Int, run: @escaping Run) {
        self.maximumBatch = maximumBatch
        self.run = run
    }

    /// Returns once `write`'s batch is committed, with its own outcome.
    package func submit(_ write: Write) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            let startsRunner = state.withLockedValue { state in
                state.queue.append(Waiting(write: write, continuation: continuation))
                defer { state.isRunning = true }
                return !state.isRunning
            }
            if startsRunner {
                Task { await self.runUntilEmpty() }
            }
        }
    }

    private func runUntilEmpty() async {
        while true {
            let batch = state.withLockedValue { state -> [Waiting] in
                if state.queue.isEmpty { state.isRunning = false }
                let batch = state.queue.prefix(maximumBatch)
                state.queue.removeFirst(batch.count)
                return Array(batch)
            }
            if batch.isEmpty { return }
            let outcomes = await run(batch.map(\.write))
            for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(with: outcome) }
        }
    }
}
