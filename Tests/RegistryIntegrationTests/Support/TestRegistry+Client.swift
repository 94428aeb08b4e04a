import RegistryServer
import RegistryTestSupport

extension TestRegistry {
    /// Starts a registry, runs `body` against it, stops it (also when `body` throws).
    static func with<T>(
        root: String? = nil, configure: (inout RegistryConfiguration) -> Void = { _ in }, _ body: (RegistryClient) async throws -> T
    ) async throws -> T {
        let registry = try await start(root: root, configure: configure)
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
