import Foundation
import RegistryTestSupport
import Testing

@Suite("Child processes of the tests")
struct ChildProcessTests {
    /// A descriptor the test process holds (on a test's tmpfs, say) must not live on in a
    /// child: a long-running one would keep that file system busy after the test.
    @Test func aChildInheritsOnlyItsStandardStreams() throws {
        let directory = try TestRegistry.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let held = open(directory + "/held", O_CREAT | O_WRONLY, 0o600)
        #expect(held > 2)
        defer { close(held) }
        let result = try ChildProcess.run("/bin/ls", arguments: ["/proc/self/fd"])
        #expect(result.status == 0)
        let descriptors = String(decoding: result.output, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        // ls itself opens one descriptor to read the directory.
        #expect(descriptors.filter { $0 > 2 }.count <= 1, "descriptors: \(descriptors)")
        #expect(!descriptors.contains(Int(held)))
    }
}
