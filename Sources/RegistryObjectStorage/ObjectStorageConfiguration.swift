import RegistryS3

/// How the object-storage blob store reaches its bucket and cuts upload data into objects.
public struct ObjectStorageConfiguration: Sendable {
    /// The bucket, its endpoint and credentials; its `keyPrefix` is put in front of every key
    /// the store writes (``ObjectStorageLayout``).
    public var s3: S3Configuration
    /// Size of the parts a write is sent in (a write that fits in one part is one PUT): at
    /// least S3's minimum (5 MiB). Larger parts mean fewer requests, more memory per upload
    /// (`partSize × (partsInFlight + 1)`) and a larger largest write (10,000 parts: 160 GiB at
    /// the default 16 MiB, which measured best on radosgw with 2 in flight).
    public var partSize: Int
    /// PUTs of one upload under way at once while the next part fills.
    public var partsInFlight: Int
    /// Requests at once for work on many objects: deleting a session's segments or a batch of
    /// blobs, copying segments into a blob.
    public var requestConcurrency: Int

    /// S3's smallest part but the last: what a segment other than a session's last must hold.
    public static let minimumPartSize = 5 << 20
    /// S3's largest single copy (CopyObject, or one UploadPartCopy).
    public static let maximumCopySize: Int64 = 5 << 30
    /// S3's most parts in one multipart upload.
    public static let maximumParts = 10_000

    public init(s3: S3Configuration, partSize: Int = 16 << 20, partsInFlight: Int = 2, requestConcurrency: Int = 8) throws {
        guard partSize >= Self.minimumPartSize, partSize <= 1 << 30 else {
            throw S3ClientError.invalidConfiguration("part size \(partSize) is not between 5 MiB and 1 GiB")
        }
        guard partsInFlight >= 1, requestConcurrency >= 1 else {
            throw S3ClientError.invalidConfiguration("partsInFlight and requestConcurrency must be at least 1")
        }
        self.s3 = s3
        self.partSize = partSize
        self.partsInFlight = partsInFlight
        self.requestConcurrency = requestConcurrency
    }
}
