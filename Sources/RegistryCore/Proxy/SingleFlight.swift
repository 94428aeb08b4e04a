/// Runs one operation per key at a time: callers that ask for a key already in progress wait
/// for that run's result instead of starting their own (one upstream request, however many
/// clients want the same manifest at once). The run is not tied to the first caller: a caller
/// that goes away does not cancel it for the others.
actor SingleFlight<Value: Sendable> {
    private var running: [String: Task<Value, any Error>] = [:]

    func run(_ key: String, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let task = running[key] {
            return try await task.value
        }
        let task = Task { try await operation() }
        running[key] = task
        let result = await task.result
        running[key] = nil
        return try result.get()
    }
}
