import Foundation

extension S3Client {
    /// S3 refuses presigned URLs valid for longer than seven days.
    public static let maximumPresignedLifetime: Duration = .seconds(7 * 24 * 3600)

    /// A URL that lets anyone holding it GET the object until `lifetime` after `now`: for
    /// redirecting a registry client straight to the storage.
    public func presignedGetURL(for key: String, lifetime: Duration, now: Date = Date()) throws -> String {
        let seconds = lifetime.components.seconds
        guard seconds >= 1, lifetime <= Self.maximumPresignedLifetime else {
            throw S3ClientError.invalidArgument("a presigned URL lives 1 s to 7 days, not \(lifetime)")
        }
        let location = requests.location
        let path = location.path(forKey: key)
        let query = requests.signer.presignedQuery(
            method: "GET", path: path, host: location.hostHeader, expires: Int(seconds), at: now)
        return location.url(path: path, query: query)
    }
}
