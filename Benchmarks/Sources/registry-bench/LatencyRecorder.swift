import NIOCore

/// Latencies and failures of one load client. Touched only on that client's event loop while the
/// load runs, read once after it ended.
final class LatencyRecorder: @unchecked Sendable {
    private(set) var microseconds: [UInt32] = []
    private(set) var failures = 0
    private(set) var firstFailure: String?

    init() {
        microseconds.reserveCapacity(1 << 16)
    }

    func record(_ elapsed: TimeAmount) {
        microseconds.append(UInt32(clamping: elapsed.nanoseconds / 1000))
    }

    func fail(_ reason: String) {
        failures += 1
        if firstFailure == nil { firstFailure = reason }
    }
}

/// The merged latencies of a run.
struct LatencySummary {
    let count: Int
    private let sorted: [UInt32]

    init(_ recorders: [LatencyRecorder]) {
        sorted = recorders.flatMap(\.microseconds).sorted()
        count = sorted.count
    }

    /// The `fraction` percentile in milliseconds (nearest rank).
    func percentile(_ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1000
    }
}
