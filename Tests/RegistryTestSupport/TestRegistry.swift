import Foundation
import Logging
import NIOCore
import RegistryServer

/// A real `registry serve` running in this process on 127.0.0.1 with an OS-chosen port and its
/// own temporary root, stopped by cancelling its task.
public final class TestRegistry: Sendable {
    public let root: String
    public let port: Int
    public let usesTLS: Bool
    private let task: Task<Void, any Error>

    public var baseURL: String { "\(usesTLS ? "https" : "http")://127.0.0.1:\(port)" }

    private init(root: String, port: Int, usesTLS: Bool, task: Task<Void, any Error>) {
        self.root = root
        self.port = port
        self.usesTLS = usesTLS
        self.task = task
    }

    public static func makeTemporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("registry-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public static func start(
        root: String? = nil, logHandler: (@Sendable (String) -> any LogHandler)? = nil,
        configure: (inout RegistryConfiguration) -> Void = { _ in }
    ) async throws -> TestRegistry {
        let root = try root ?? makeTemporaryDirectory()
        var configuration = RegistryConfiguration()
        configuration.root = root
        configuration.port = 0
        configure(&configuration)
        let (addresses, continuation) = AsyncStream<SocketAddress>.makeStream()
        let application = RegistryApplication(
            configuration: configuration,
            logger: Logger(label: "test-registry", factory: logHandler ?? { _ in SwiftLogNoOpLogHandler() }),
            onBound: { address in
                continuation.yield(address)
                continuation.finish()
            })
        let task = Task {
            // A server that fails before binding must end the wait below, not leave it hanging.
            defer { continuation.finish() }
            try await application.run()
        }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next(), let port = address.port else {
            task.cancel()
            do {
                try await task.value
            } catch {
                throw TestFailure("registry did not start: \(error)")
            }
            throw TestFailure("registry did not start")
        }
        return TestRegistry(root: root, port: port, usesTLS: configuration.tlsCertificate != nil, task: task)
    }

    /// Stops the server and waits until it has closed its database.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
