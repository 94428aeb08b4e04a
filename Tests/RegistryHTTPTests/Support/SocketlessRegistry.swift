import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RegistryCore
import RegistryHTTP
import RegistryModel
import RegistryStorage
import SystemPackage

/// A ``RegistryResponder`` over a real store in a temporary directory, driven by requests built
/// in memory: handlers run exactly as behind the server, without a socket.
struct SocketlessRegistry {
    let responder: RegistryResponder
    private let metadata: Metadata
    private let root: String

    /// Runs `body` with a fresh registry and removes it afterwards.
    static func with<T>(
        options: RegistryOptions = RegistryOptions(), _ body: (SocketlessRegistry) async throws -> T
    ) async throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("registry-http-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = StorageLayout(root: FilePath(root))
        let files = FilesystemBlobStore(layout: layout)
        try await files.prepare()
        let logger = Logger(label: "socketless-registry", factory: { _ in SwiftLogNoOpLogHandler() })
        let metadata = Metadata(database: try await SQLiteMetadataStore.open(path: layout.metadataDatabase.string, logger: logger))
        let registry = Registry(metadata: metadata, blobs: files, uploads: files, options: options, logger: logger)
        let fixture = SocketlessRegistry(
            responder: RegistryResponder(registry: registry, access: .allowAll, logger: logger), metadata: metadata, root: root)
        do {
            let result = try await body(fixture)
            try await metadata.close()
            return result
        } catch {
            try? await metadata.close()
            throw error
        }
    }

    /// Sends one request and returns the answer with its body collected.
    func send(
        _ method: HTTPMethod, _ uri: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async -> Answer {
        let request = Request(
            method: method, uri: uri, headers: HTTPHeaders(headers), body: RequestBody(bytes: body))
        let response = await responder.respond(to: request)
        var bytes: [UInt8] = []
        switch response.body {
        case .empty:
            break
        case .buffer(let buffer):
            bytes = Array(buffer.readableBytesView)
        case .blob(let reader, _):
            // The writer would have sent and closed it; the tests look at headers only.
            try? await reader.close()
        case .arriving(let stream):
            stream.close()
        }
        return Answer(status: response.status, headers: response.headers, body: bytes)
    }

    /// A response as a client sees it.
    struct Answer {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: [UInt8]

        /// The first OCI error code of the body, if any.
        var errorCode: String? {
            guard let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let errors = json["errors"] as? [[String: Any]] else { return nil }
            return errors.first?["code"] as? String
        }

        func header(_ name: String) -> String? { headers.first(name: name) }
    }
}
