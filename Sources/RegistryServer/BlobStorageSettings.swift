/// `storage.driver` and `storage.s3.*`: where blob bytes and upload data live.
public struct BlobStorageSettings: Sendable, Equatable {
    public enum Driver: String, Sendable {
        /// Files under `storage.root` (one machine, or a shared POSIX file system).
        case filesystem
        /// An S3-compatible bucket shared by every replica.
        case s3
    }

    public var driver = Driver.filesystem
    /// `http(s)://host[:port]` of the gateway or the region's endpoint.
    public var endpoint: String?
    public var region = "us-east-1"
    public var bucket: String?
    /// Key prefix, so that the registry can share a bucket (`registry/`).
    public var prefix = ""
    /// `http://endpoint/bucket/key` (radosgw, MinIO) rather than `https://bucket.endpoint/key`.
    public var pathStyle = true
    public var accessKey: String?
    public var secretKey: String?
    /// A file whose first line is the secret key (a mounted secret).
    public var secretKeyFile: String?
    /// PEM CA bundle trusted for the endpoint besides the system's.
    public var ca: String?
    /// Size of the parts uploads are streamed in (5 MiB to 1 GiB).
    public var partSize: Int64 = 16 << 20
    /// Answer blob downloads with a `307` to a presigned URL of the bucket, valid this long,
    /// instead of streaming the bytes through the registry.
    public var redirect = false
    public var redirectLifetime: Duration = .seconds(20 * 60)

    public init() {}
}
