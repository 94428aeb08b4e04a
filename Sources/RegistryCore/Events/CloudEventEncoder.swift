import Foundation
import NIOCore

/// Encodes events as CloudEvents 1.0 in structured mode: one JSON object holding the context
/// attributes and, in `data`, the event's own fields. Sent with
/// `Content-Type: application/cloudevents+json`.
public struct CloudEventEncoder: Sendable {
    public static let contentType = "application/cloudevents+json"

    /// The CloudEvents `source` of every event (a URI reference naming this registry).
    public var source: String

    public init(source: String) {
        self.source = source
    }

    private struct Envelope: Encodable {
        var specversion = "1.0"
        var id: String
        var source: String
        var type: String
        var time: String
        var subject: String
        var datacontenttype = "application/json"
        var data: Payload
    }

    private struct Payload: Encodable {
        var action: String
        var repository: String
        var digest: String?
        var mediaType: String?
        var size: Int64?
        var tag: String?
        var actor: String?
        var from: String?
        var quota: String?
        var used: Int64?
        var limit: Int64?
        var reason: String?
    }

    /// The event's JSON, with a fresh `id` (kept with the body, so every retry sends the same).
    public func encode(_ event: RegistryEvent, id: UUID = UUID()) -> ByteBuffer {
        let envelope = Envelope(
            id: id.uuidString.lowercased(), source: source, type: event.kind.type, time: Self.timestamp(event.time),
            subject: event.subject,
            data: Payload(
                action: event.kind.action.rawValue, repository: event.repository.value, digest: event.digest?.description,
                mediaType: event.mediaType, size: event.size, tag: event.tag?.value, actor: event.actor,
                from: event.from?.value, quota: event.quota?.name, used: event.quota?.used, limit: event.quota?.limit,
                reason: event.reason?.rawValue))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain strings and numbers cannot fail.
        let data = (try? encoder.encode(envelope)) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }

    /// RFC 3339 in UTC with milliseconds, as CloudEvents' `time` asks.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }
}
