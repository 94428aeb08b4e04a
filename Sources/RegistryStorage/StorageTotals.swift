/// The registry-wide figures the metrics endpoint reports as gauges: one cheap query's worth,
/// never per repository.
public struct StorageTotals: Sendable, Equatable {
    /// Stored blobs, each counted once however many repositories link it.
    public var blobs: Int64
    /// Their bytes: what the blob store holds.
    public var bytes: Int64
    /// Bytes that sharing saves: over the blobs linked by more than one repository, the size
    /// times the links beyond the first (the sum over repositories of their linked blobs' sizes,
    /// minus each linked blob's size once).
    public var sharedBytesSaved: Int64
    /// Upload sessions started and not yet finished or cancelled (pull-through fills included).
    public var uploadSessions: Int64

    public init(blobs: Int64, bytes: Int64, sharedBytesSaved: Int64, uploadSessions: Int64) {
        self.blobs = blobs
        self.bytes = bytes
        self.sharedBytesSaved = sharedBytesSaved
        self.uploadSessions = uploadSessions
    }
}

/// A metadata database that can add up ``StorageTotals``.
public protocol StorageTotalsSource: Sendable {
    func storageTotals() async throws -> StorageTotals
}

extension Metadata: StorageTotalsSource {}
