import Testing

@testable import RegistryS3

@Suite struct S3ClientConfigurationTests {
    static func configuration(caFile: String? = nil) -> S3Configuration {
        S3Configuration(
            endpoint: "https://s3.example.com", region: "us-east-1", bucket: "bucket",
            credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "s"), caCertificateFile: caFile)
    }

    @Test func unreadableCAFileIsReportedAtCreation() {
        #expect(throws: (any Error).self) { try S3Client(configuration: Self.configuration(caFile: "/nonexistent/ca.pem")) }
    }

    @Test func clientMadeFromValidConfigurationShutsDown() async throws {
        let client = try S3Client(configuration: Self.configuration())
        try await client.shutdown()
    }

    @Test func presignedLifetimeIsLimitedToSevenDays() async throws {
        let client = try S3Client(configuration: Self.configuration())
        #expect(throws: S3ClientError.self) { try client.presignedGetURL(for: "k", lifetime: .seconds(7 * 24 * 3600 + 1)) }
        #expect(throws: S3ClientError.self) { try client.presignedGetURL(for: "k", lifetime: .zero) }
        let url = try client.presignedGetURL(for: "a b", lifetime: .seconds(60))
        #expect(url.hasPrefix("https://s3.example.com/bucket/a%20b?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
        try await client.shutdown()
    }
}
