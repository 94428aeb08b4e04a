import Foundation
import RegistryStorage

/// The actions the audit log records.
///
/// "Reads content" means a manifest `GET` or a blob `GET` (`pull`): `HEAD`s only tell whether
/// something exists (clients send many while pushing) and are recorded only when refused.
/// A push is recorded when it lands: an upload finished (`PUT`, or a monolithic or mounting
/// `POST` answered 201) and a manifest `PUT`, not for every chunk.
public enum AuditAction {
    public static let pull = "pull"
    public static let push = "push"
    public static let delete = "delete"
    /// A sign-in: `GET /v2/` or `/token` with credentials, and any request whose credentials
    /// were refused.
    public static let login = "login"
    public static let garbageCollection = "gc"
    public static let deleteRepository = "delete-repository"
}

/// How a recorded request ended, from its status: `ok`, `denied` (401, 403), `throttled` (429)
/// or `error`.
public enum AuditResult {
    public static func of(status: Int) -> String {
        switch status {
        case 200..<400: "ok"
        case 401, 403: "denied"
        case 429: "throttled"
        default: "error"
        }
    }
}

/// An audit record as JSON, for `registry audit --json` and `GET /v2/_admin/audit`.
public struct AuditEntryJSON: Encodable, Sendable {
    public var id: Int64?
    public var time: String
    public var user: String?
    public var robot: Bool
    public var address: String
    public var user_agent: String
    public var action: String
    public var repository: String?
    public var reference: String?
    public var status: Int
    public var result: String

    public init(_ record: AuditRecord) {
        id = record.id
        time = AuditTime.format(record.time)
        user = record.user
        robot = record.isRobot
        address = record.address
        user_agent = record.userAgent
        action = record.action
        repository = record.repository
        reference = record.reference
        status = record.status
        result = AuditResult.of(status: record.status)
    }
}

/// Times in the audit log's output and `since` filters.
public enum AuditTime {
    /// RFC 3339 in UTC with milliseconds.
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The longest duration back a `since` may reach: further than any retention, and short
    /// enough that the time stays a number of milliseconds the database stores.
    static let longestSince: Double = 10_000 * 365 * 86400

    /// A `since` value: a duration back from `now` (`90s`, `15m`, `24h`, `7d`, at most
    /// ``longestSince``) or an RFC 3339 time. Nil when it is neither: `infs` or `1e300s` are
    /// numbers to `Double` but no time a query can hold.
    public static func since(_ value: String, now: Date = Date()) -> Date? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let unit = value.last.flatMap({ units[$0] }), let amount = Double(value.dropLast()), amount >= 0 {
            let seconds = amount * unit
            guard seconds <= longestSince else { return nil }
            return now.addingTimeInterval(-seconds)
        }
        if let withFraction = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(value) { return withFraction }
        return try? Date.ISO8601FormatStyle().parse(value)
    }
}
