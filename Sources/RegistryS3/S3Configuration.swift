/// Where the bucket is and how to reach it.
public struct S3Configuration: Sendable {
    /// `http(s)://host[:port]`, without a path: the gateway (`http://127.0.0.1:7480`) or the
    /// regional endpoint (`https://s3.eu-west-1.amazonaws.com`).
    public var endpoint: String
    public var region: String
    public var bucket: String
    /// Put in front of every key, so that the registry can share a bucket (`registry/`). Keys
    /// passed to and returned by the client are relative to it.
    public var keyPrefix: String
    public var addressing: S3Addressing
    public var credentials: S3Credentials
    /// PEM file of CA certificates trusted besides the system's, for a gateway with a private CA.
    public var caCertificateFile: String?
    public var timeouts: S3Timeouts
    public var retries: S3RetryPolicy

    public init(
        endpoint: String,
        region: String,
        bucket: String,
        keyPrefix: String = "",
        addressing: S3Addressing = .pathStyle,
        credentials: S3Credentials,
        caCertificateFile: String? = nil,
        timeouts: S3Timeouts = S3Timeouts(),
        retries: S3RetryPolicy = .standard
    ) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.keyPrefix = keyPrefix
        self.addressing = addressing
        self.credentials = credentials
        self.caCertificateFile = caCertificateFile
        self.timeouts = timeouts
        self.retries = retries
    }
}

/// How the bucket appears in a request's URL.
public enum S3Addressing: Sendable, Equatable {
    /// `http://endpoint/bucket/key`: what radosgw and MinIO expect without DNS set up for
    /// buckets, and what works with an IP address.
    case pathStyle
    /// `https://bucket.endpoint/key`: AWS's preferred form.
    case virtualHost
}

/// How long the client waits. No limit covers a streamed body as a whole, since a large blob
/// may take long to move; the idle limits catch a transfer that stalls.
public struct S3Timeouts: Sendable, Equatable {
    /// To establish a connection (TCP and TLS).
    public var connect: Duration
    /// The longest pause while sending or receiving bytes.
    public var idle: Duration
    /// From sending a request without a streamed body until the response's head arrives.
    public var response: Duration

    public init(connect: Duration = .seconds(5), idle: Duration = .seconds(60), response: Duration = .seconds(60)) {
        self.connect = connect
        self.idle = idle
        self.response = response
    }
}
