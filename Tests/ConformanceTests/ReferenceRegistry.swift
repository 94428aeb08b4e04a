import Foundation
import RegistryTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// CNCF distribution 2.8 from Debian's `docker-registry` package, started on 127.0.0.1 with a
/// fresh root in a temporary directory and stopped by its PID.
final class ReferenceRegistry {
    static let binary = ProcessInfo.processInfo.environment["REFERENCE_REGISTRY"] ?? "/usr/bin/docker-registry"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    let port: Int
    private let process: ChildProcess
    private let directory: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// - Parameter htpasswd: an htpasswd file's contents; with it the registry requires Basic auth.
    init(htpasswd: String? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reference-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        let config = """
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: \(directory)/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            """
        var fullConfig = config
        if let htpasswd {
            try htpasswd.write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
            fullConfig += """

                auth:
                  htpasswd:
                    realm: conformance
                    path: \(directory)/htpasswd
                """
        }
        try fullConfig.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        process = try ChildProcess.spawn(Self.binary, arguments: ["serve", directory + "/config.yml"])
        try await waitUntilListening()
    }

    func stop() {
        process.terminate()
        process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func waitUntilListening() async throws {
        for _ in 0..<100 {
            if let connection = try? Self.connect(port: port) {
                close(connection)
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw ReferenceRegistryError("docker-registry did not start listening on port \(port)")
    }

    /// A port the OS has just handed out (bind to 0, read it back, release it).
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw ReferenceRegistryError("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func connect(port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw ReferenceRegistryError("not listening yet")
        }
        return descriptor
    }
}

struct ReferenceRegistryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
