/// The records of one audit context written by one batch, as the SQLite audit log stores them:
/// one row of `audit_runs` (see `SQLiteSchema.auditRuns`) whose `entries` blob holds each
/// record's id and time.
///
/// A record is two varints: its id's distance from the previous record's (0 for the first,
/// whose id is the row's `first_id`) and its time's distance from the previous record's, zigzag
/// encoded (times may step back: records are queued in the order requests end, timed when
/// they end); the first record's, from the row's `first_at`, so 0 too. A run of pulls by one
/// client takes two or three bytes a record; a run of one record is `x'0000'`.
struct AuditRun {
    private(set) var firstID: Int64 = 0
    private(set) var lastID: Int64 = 0
    /// The first record's time.
    private(set) var firstAt: Int64 = 0
    private(set) var minAt: Int64 = .max
    private(set) var maxAt: Int64 = .min
    private(set) var count = 0
    /// The `entries` blob.
    private(set) var entries: [UInt8] = []

    init() {}

    /// Adds a record; ids must grow.
    mutating func append(id: Int64, at: Int64) {
        if count == 0 {
            firstID = id
            lastID = id
            firstAt = at
            previousAt = at
        }
        precondition(count == 0 || id > lastID, "audit run ids must grow")
        Self.appendVarint(UInt64(id - lastID), to: &entries)
        // Wrapping, as decoding adds: the round trip is exact whatever the times.
        Self.appendVarint(Self.zigzag(at &- previousAt), to: &entries)
        lastID = id
        previousAt = at
        minAt = min(minAt, at)
        maxAt = max(maxAt, at)
        count += 1
    }

    private var previousAt: Int64 = 0

    /// The records of a stored run, in id order. Nil when the blob is not one this type wrote
    /// (cut short, ids that do not grow, numbers past 64 bits): a corrupt row, never a trap.
    static func decode(firstID: Int64, firstAt: Int64, entries: [UInt8]) -> [(id: Int64, at: Int64)]? {
        var records: [(id: Int64, at: Int64)] = []
        var previous = (id: firstID, at: firstAt)
        var offset = 0
        while offset < entries.count {
            guard let idStep = readVarint(entries, at: &offset), let atStep = readVarint(entries, at: &offset),
                  idStep <= UInt64(Int64.max), records.isEmpty ? idStep == 0 : idStep > 0
            else { return nil }
            let (id, overflow) = previous.id.addingReportingOverflow(Int64(idStep))
            guard !overflow else { return nil }
            previous = (id, previous.at &+ unzigzag(atStep))
            records.append(previous)
        }
        return records
    }

    private static func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    private static func unzigzag(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private static func readVarint(_ bytes: [UInt8], at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            // The tenth byte may hold only the 64th bit.
            guard shift < 63 || (shift == 63 && byte <= 1) else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }
}
