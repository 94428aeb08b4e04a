/// How long an endpoint's delivery waits before trying the same event again: `initial`,
/// doubling after each failure, never more than `maximum`; back to `initial` after a success.
public struct DeliveryBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public private(set) var current: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(300)) {
        self.initial = initial
        self.maximum = maximum
        self.current = initial
    }

    /// The wait after a failure; the next one is twice as long (up to `maximum`).
    public mutating func next() -> Duration {
        let wait = current
        current = min(current * 2, maximum)
        return wait
    }

    public mutating func reset() {
        current = initial
    }
}
