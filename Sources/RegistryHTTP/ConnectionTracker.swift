import NIOConcurrencyHelpers
import NIOCore

/// Knows every open connection and how many requests it is serving (one at most for HTTP/1.1,
/// any number of streams for HTTP/2), so that shutdown can close idle connections at once and
/// busy ones as soon as their last request is answered.
final class ConnectionTracker: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: (channel: any Channel, requests: Int)] = [:]
        var isShuttingDown = false
    }

    private let state = NIOLockedValueBox(State())

    var isShuttingDown: Bool { state.withLockedValue { $0.isShuttingDown } }

    /// Registers a connection; false when the server is shutting down (close it instead).
    func add(_ channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard !state.isShuttingDown else { return false }
            state.connections[ObjectIdentifier(channel)] = (channel, 0)
            return true
        }
    }

    func remove(_ channel: any Channel) {
        state.withLockedValue { _ = $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Counts a request on a connection; false if shutdown began (the request must not start).
    func beginRequest(on channel: any Channel) -> Bool {
        state.withLockedValue { state in
            guard !state.isShuttingDown else { return false }
            state.connections[ObjectIdentifier(channel)]?.requests += 1
            return true
        }
    }

    /// Ends a request; during shutdown, a connection left without requests is closed.
    func endRequest(on channel: any Channel) {
        let closeNow = state.withLockedValue { state -> Bool in
            let key = ObjectIdentifier(channel)
            guard let entry = state.connections[key] else { return false }
            state.connections[key]?.requests = max(entry.requests - 1, 0)
            return state.isShuttingDown && entry.requests <= 1
        }
        if closeNow { channel.close(promise: nil) }
    }

    /// Starts shutdown: idle connections are closed now, busy ones after their response.
    func beginShutdown() {
        let idle = state.withLockedValue { state -> [any Channel] in
            state.isShuttingDown = true
            return state.connections.values.filter { $0.requests == 0 }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Closes everything (end of the grace period).
    func closeAll() {
        let all = state.withLockedValue { $0.connections.values.map(\.channel) }
        for channel in all { channel.close(promise: nil) }
    }
}
