import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import RegistryServer

/// A real `registry serve` running in this process on 127.0.0.1 with an OS-chosen port and its
/// own temporary root, stopped by cancelling its task.
final class TestRegistry: Sendable {
    let root: String
    let port: Int
    private let task: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(root: String, port: Int, task: Task<Void, any Error>) {
        self.root = root
        self.port = port
        self.task = task
    }

    static func makeTemporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("registry-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func start(
        root: String? = nil, configure: (inout RegistryConfiguration) -> Void = { _ in }
    ) async throws -> TestRegistry {
        let root = try root ?? makeTemporaryDirectory()
        var configuration = RegistryConfiguration()
        configuration.root = root
        configuration.port = 0
        configure(&configuration)
        let (addresses, continuation) = AsyncStream<SocketAddress>.makeStream()
        let application = RegistryApplication(
            configuration: configuration,
            logger: Logger(label: "test-registry", factory: { _ in SwiftLogNoOpLogHandler() }),
            onBound: { address in
                continuation.yield(address)
                continuation.finish()
            })
        let task = Task { try await application.run() }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next(), let port = address.port else {
            task.cancel()
            _ = try? await task.value
            throw TestFailure("registry did not start")
        }
        return TestRegistry(root: root, port: port, task: task)
    }

    /// Stops the server and waits until it has closed its database.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// Starts a registry, runs `body` against it, stops it (also when `body` throws).
    static func with<T>(
        configure: (inout RegistryConfiguration) -> Void = { _ in }, _ body: (RegistryClient) async throws -> T
    ) async throws -> T {
        let registry = try await start(configure: configure)
        do {
            let result = try await body(RegistryClient(registry: registry))
            await registry.stop()
            return result
        } catch {
            await registry.stop()
            throw error
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
