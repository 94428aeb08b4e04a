import Foundation
import RegistryS3

/// The gateway that scripts/engines/start.sh starts, described by REGISTRY_TEST_S3_ENDPOINT,
/// REGISTRY_TEST_S3_ACCESS_KEY, REGISTRY_TEST_S3_SECRET_KEY, REGISTRY_TEST_S3_BUCKET and
/// REGISTRY_TEST_S3_REGION.
enum S3TestEnvironment {
    static let variables = ProcessInfo.processInfo.environment

    static var isConfigured: Bool { variables["REGISTRY_TEST_S3_ENDPOINT"] != nil }

    /// A configuration whose keys live under a prefix of their own, so that tests running at
    /// the same time (and earlier runs) do not see each other's objects.
    static func configuration(credentials: S3Credentials? = nil) -> S3Configuration {
        S3Configuration(
            endpoint: variables["REGISTRY_TEST_S3_ENDPOINT"] ?? "",
            region: variables["REGISTRY_TEST_S3_REGION"] ?? "us-east-1",
            bucket: variables["REGISTRY_TEST_S3_BUCKET"] ?? "",
            keyPrefix: "test-\(UUID().uuidString.lowercased())/",
            credentials: credentials ?? S3Credentials(
                accessKeyID: variables["REGISTRY_TEST_S3_ACCESS_KEY"] ?? "",
                secretAccessKey: variables["REGISTRY_TEST_S3_SECRET_KEY"] ?? ""))
    }

    /// Runs `body` with a client on a fresh prefix, then deletes what it left there.
    static func withClient(
        credentials: S3Credentials? = nil, _ body: (S3Client) async throws -> Void
    ) async throws {
        let client = try S3Client(configuration: configuration(credentials: credentials))
        do {
            try await body(client)
        } catch {
            try? await removeAll(client)
            try? await client.shutdown()
            throw error
        }
        if credentials == nil { try await removeAll(client) }
        try await client.shutdown()
    }

    private static func removeAll(_ client: S3Client) async throws {
        var token: String?
        repeat {
            let page = try await client.listObjectsV2(continuationToken: token)
            for object in page.objects { try await client.deleteObject(object.key) }
            token = page.continuationToken
        } while token != nil
    }
}
