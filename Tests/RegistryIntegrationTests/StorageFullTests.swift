import RegistryTestSupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import RegistryCore
import RegistryModel
import RegistryServer
import Testing

/// A full disk, for real: the registry's root is a small tmpfs. Mounting needs root (as in CI);
/// without it these tests fail, they do not skip.
@Suite("Storage full")
struct StorageFullTests {
    @Test func aBlobLargerThanTheFreeSpaceIsRefusedWith507AndLeavesNoBytes() async throws {
        try await Tmpfs.with(megabytes: 16) { root in
            try await TestRegistry.with(root: root, configure: { $0.minimumFreeSpace = .disabled }) { client in
                #expect(try await client.request(.GET, "/readyz").status == .ok)
                let usedBefore = try Tmpfs.usedBytes(root)
                // Larger than what is free, by less than the server drains of an unread body
                // (8 MiB), so that the client reads the answer rather than a closed connection.
                let bytes = RegistryClient.randomBytes(Int(try Tmpfs.freeBytes(root)) + 3 << 20)
                let digest = RegistryClient.digest(bytes)

                let monolithic = try await client.request(.POST, "/v2/app/blobs/uploads/?digest=\(digest)", body: bytes)
                try expectStorageFull(monolithic)
                try expectNothingLeft(root, usedBefore: usedBefore)

                let putLocation = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
                let put = try await client.request(
                    .PUT, "\(putLocation)?digest=\(digest)", headers: [("Content-Type", "application/octet-stream")], body: bytes)
                try expectStorageFull(put)
                try expectNothingLeft(root, usedBefore: usedBefore)

                let patchLocation = try #require(try await client.request(.POST, "/v2/app/blobs/uploads/").header("Location"))
                let chunks = stride(from: 0, to: bytes.count, by: 1 << 20).map { Array(bytes[$0..<min($0 + 1 << 20, bytes.count)]) }
                let patch = try await client.streamingRequest(.PATCH, patchLocation, chunks: chunks)
                try expectStorageFull(patch)
                try expectNothingLeft(root, usedBefore: usedBefore)
                // The session survives its failed chunk, with nothing in it.
                let status = try await client.request(.GET, patchLocation)
                #expect(status.status == .noContent)
                #expect(status.header("Range") == "0-0")

                // The space came back: a blob that fits is stored.
                let small = RegistryClient.randomBytes(100_000)
                let smallDigest = try await client.pushBlob(small, to: "app")
                #expect(try await client.request(.GET, "/v2/app/blobs/\(smallDigest)").bytes == small)
                #expect(try await client.request(.HEAD, "/v2/app/blobs/\(digest)").status == .notFound)
            }
        }
    }

    @Test func readinessFailsWhileFreeSpaceIsUnderTheFloor() async throws {
        try await Tmpfs.with(megabytes: 16) { root in
            try await TestRegistry.with(root: root, configure: { $0.minimumFreeSpace = .bytes(32 << 20) }) { client in
                let ready = try await client.request(.GET, "/readyz")
                #expect(ready.status == .serviceUnavailable)
                #expect(ready.errorCode == "UNAVAILABLE")
                #expect(ready.text.contains("storage.min_free"))
            }
            try await TestRegistry.with(root: root, configure: { $0.minimumFreeSpace = .bytes(1 << 20) }) { client in
                let ready = try await client.request(.GET, "/readyz")
                #expect(ready.status == .ok)
            }
            try await TestRegistry.with(root: root, configure: { $0.minimumFreeSpace = .percent(100) }) { client in
                let ready = try await client.request(.GET, "/readyz")
                #expect(ready.status == .serviceUnavailable)
            }
        }
    }

    @Test func crossingTheFloorIsLoggedOnceEachWay() async throws {
        try await Tmpfs.with(megabytes: 16) { root in
            let log = NoticeRecorder()
            let registry = try await TestRegistry.start(root: root, logHandler: log.makeHandler()) {
                $0.minimumFreeSpace = .bytes(8 << 20)
            }
            do {
                let client = RegistryClient(registry: registry)
                #expect(try await client.request(.GET, "/readyz").status == .ok)
                let filler = root + "/filler"
                #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 10 << 20)))
                for _ in 0..<3 { #expect(try await client.request(.GET, "/readyz").status == .serviceUnavailable) }
                try FileManager.default.removeItem(atPath: filler)
                for _ in 0..<3 { #expect(try await client.request(.GET, "/readyz").status == .ok) }
                await registry.stop()
            } catch {
                await registry.stop()
                throw error
            }

            let lines = log.messages.filter { $0.message.contains("storage.min_free") }
            #expect(lines.map(\.level) == [.warning, .notice])
            #expect(!log.messages.contains { $0.message == "not ready" })
        }
    }

    @Test func minFreeIsReadAsASizeOrAShare() async throws {
        func load(_ value: String?) async throws -> FreeSpaceFloor {
            let environment = value.map { ["REGISTRY_STORAGE_MIN_FREE": $0] } ?? [:]
            return try await RegistryConfiguration.load(flags: [:], configFile: nil, environment: environment).minimumFreeSpace
        }
        #expect(try await load(nil) == .bytes(1 << 30))
        #expect(try await load("512MiB") == .bytes(512 << 20))
        #expect(try await load("5%") == .percent(5))
        #expect(try await load("0").isDisabled)
        await #expect(throws: ConfigurationError.self) { try await load("150%") }
        await #expect(throws: ConfigurationError.self) { try await load("lots") }
    }

    private func expectStorageFull(_ reply: RegistryClient.Reply, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(reply.status.code == 507, "\(reply.status): \(reply.text)", sourceLocation: sourceLocation)
        let errors = try #require(try reply.json()["errors"] as? [[String: Any]], sourceLocation: sourceLocation)
        #expect(errors.first?["code"] as? String == "STORAGE_FULL", sourceLocation: sourceLocation)
        #expect((errors.first?["message"] as? String)?.contains("storage is full") == true, sourceLocation: sourceLocation)
    }

    /// No upload data file holds a byte, and the file system is back to what it used before.
    private func expectNothingLeft(_ root: String, usedBefore: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let uploads = root + "/uploads"
        let sizes = try FileManager.default.contentsOfDirectory(atPath: uploads).map { name in
            (try FileManager.default.attributesOfItem(atPath: uploads + "/" + name)[.size] as? Int64) ?? 0
        }
        #expect(sizes.reduce(0, +) == 0, "upload files: \(sizes)", sourceLocation: sourceLocation)
        let used = try Tmpfs.usedBytes(root)
        #expect(used < usedBefore + (1 << 20), "used \(used) bytes, \(usedBefore) before", sourceLocation: sourceLocation)
    }
}

/// A tmpfs of a given size, mounted for the duration of a test.
enum Tmpfs {
    static func with<T>(megabytes: Int, _ body: (String) async throws -> T) async throws -> T {
        let path = try TestRegistry.makeTemporaryDirectory()
        try await run("/usr/bin/mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path)
        do {
            let result = try await body(path)
            try await unmount(path)
            return result
        } catch {
            try? await unmount(path)
            throw error
        }
    }

    static func freeBytes(_ path: String) throws -> Int64 {
        try (FileManager.default.attributesOfFileSystem(forPath: path)[.systemFreeSize] as? NSNumber)?.int64Value ?? 0
    }

    static func usedBytes(_ path: String) throws -> Int64 {
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: path)
        let size = (attributes[.systemSize] as? NSNumber)?.int64Value ?? 0
        return size - (try freeBytes(path))
    }

    /// Unmounts, giving a program that is still closing a file there (a registry shutting
    /// down, say) a few seconds before "target is busy" counts as a failure.
    private static func unmount(_ path: String) async throws {
        for _ in 0..<50 {
            if (try? await Program.run("/usr/bin/umount", arguments: [path]))?.status == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if (try? await Program.run("/usr/bin/mountpoint", arguments: ["-q", path]))?.status == 0 {
            try await run("/usr/bin/umount", path)
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    private static func run(_ executable: String, _ arguments: String...) async throws {
        let result = try await Program.run(executable, arguments: arguments)
        guard result.status == 0 else {
            throw TestFailure(
                "\(executable) \(arguments.joined(separator: " ")) failed (\(result.status)): \(String(decoding: result.errors, as: UTF8.self))"
                    + " - these tests mount a tmpfs and must run as root")
        }
    }
}

/// The registry's log messages at notice level and above.
private final class NoticeRecorder: Sendable {
    private let entries = NIOLockedValueBox([(level: Logger.Level, message: String)]())

    var messages: [(level: Logger.Level, message: String)] { entries.withLockedValue { $0 } }

    func makeHandler() -> @Sendable (String) -> any LogHandler {
        { _ in
            RecordingLogHandler(level: .notice) { event in
                self.entries.withLockedValue { $0.append((event.level, event.message.description)) }
            }
        }
    }
}
