import Configuration
import Foundation
import SystemPackage
import Yams

/// swift-configuration's YAML provider refuses a file holding a list of maps anywhere
/// (`immutable_tags`, `quotas.rules`, `retention.rules`: "Unexpected non-scalar value in
/// array"). Those sections are read from the parsed document by their own parsers, so the
/// provider is given a copy of the file without them.
enum ScalarYAMLFile {
    static func provider(for path: String, root: Node?, removing structured: Set<String>) async throws -> FileProvider<YAMLSnapshot> {
        guard let root else { return try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)) }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("registry-config-\(UUID().uuidString).yaml").path
        try Yams.serialize(node: without(structured, in: root, prefix: [])).write(toFile: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        return try await FileProvider<YAMLSnapshot>(filePath: FilePath(copy))
    }

    private static func without(_ structured: Set<String>, in node: Node, prefix: [String]) -> Node {
        guard let mapping = node.mapping else { return node }
        let pairs = mapping.compactMap { key, value -> (Node, Node)? in
            let path = prefix + [key.string ?? "?"]
            if structured.contains(path.joined(separator: ".")) { return nil }
            return (key, without(structured, in: value, prefix: path))
        }
        return .mapping(Node.Mapping(pairs))
    }
}
