import NIOConcurrencyHelpers
import NIOCore

/// Knows every open connection and whether it is between requests, so that shutdown can close
/// idle connections at once and let busy ones finish their current request.
final class ConnectionTracker: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: (channel: any Channel, busy: Bool)] = [:]
        var isShuttingDown = false
    }

    private let state = NIOLockedValueBox(State())

    var isShuttingDown: Bool { state.withLockedValue { $0.isShuttingDown } }
    var isEmpty: Bool { state.withLockedValue { $0.connections.isEmpty } }

    /// Registers a connection; false when the server is shutting down (close it instead).
    func add(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard !state.isShuttingDown else { return false }
            state.connections[ObjectIdentifier(channel)] = (channel, false)
            return true
        }
    }

    func remove(_ channel: any Channel) {
        state.withLockedValue { _ = $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Marks a connection busy; false if shutdown began (the request must not start).
    func beginRequest(on channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard !state.isShuttingDown else { return false }
            state.connections[ObjectIdentifier(channel)]?.busy = true
            return true
        }
    }

    func endRequest(on channel: any Channel) {
        state.withLockedValue { $0.connections[ObjectIdentifier(channel)]?.busy = false }
    }

    /// Starts shutdown: idle connections are closed now, busy ones after their response.
    func beginShutdown() {
        let idle = state.withLockedValue { state -> [any Channel] in
            state.isShuttingDown = true
            return state.connections.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Closes everything (end of the grace period).
    func closeAll() {
        let all = state.withLockedValue { $0.connections.values.map(\.channel) }
        for channel in all { channel.close(promise: nil) }
    }
}
