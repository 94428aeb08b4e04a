import Foundation
import RegistryCore
import RegistryStorage

/// `registry audit`'s output: a table, or the JSON the admin endpoint serves.
public enum AuditReport {
    public static func table(_ records: [AuditRecord]) -> String {
        let rows = records.map { record -> [String] in
            let kind = record.user == nil ? "anonymous" : record.isRobot ? "robot" : "user"
            return [
                AuditTime.format(record.time), record.user ?? "-", kind, record.address, record.action,
                record.repository ?? "-", record.reference ?? "-", "\(record.status)", AuditResult.of(status: record.status),
                record.userAgent.isEmpty ? "-" : record.userAgent,
            ]
        }
        return TextTable.render(
            header: ["TIME", "USER", "KIND", "ADDRESS", "ACTION", "REPOSITORY", "REFERENCE", "STATUS", "RESULT", "USER AGENT"],
            rows: rows)
    }

    public static func json(_ records: [AuditRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: try encoder.encode(records.map(AuditEntryJSON.init)), as: UTF8.self)
    }
}
