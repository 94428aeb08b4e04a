/// The records of PAX extended headers (POSIX pax, "pax Extended Header"): a sequence of
/// `length key=value\n`, where `length` is the record's size in bytes, its own digits included.
enum PAXRecords {
    // The keys TarReader applies to an entry's fields and TarWriter derives from them.
    static let path = "path"
    static let linkPath = "linkpath"
    static let size = "size"
    static let uid = "uid"
    static let gid = "gid"
    static let userName = "uname"
    static let groupName = "gname"
    static let modificationTime = "mtime"
    static let fieldKeys: Set<String> = [path, linkPath, size, uid, gid, userName, groupName, modificationTime]

    /// The longest length prefix accepted: 18 digits cannot overflow `Int`, and are far beyond
    /// any size a reader accepts.
    private static let maxLengthDigits = 18

    /// The records of an extended header's data, in order. Nil when malformed: a length that is
    /// not decimal, too small, or runs past the data; a record without `=`, with an empty key, or
    /// not ending in a newline. Keys are read as UTF-8 (other bytes read as U+FFFD); values stay
    /// bytes.
    static func parse(_ data: [UInt8]) -> [(key: String, value: [UInt8])]? {
        var records: [(key: String, value: [UInt8])] = []
        var start = 0
        while start < data.count {
            var cursor = start
            var length = 0
            while cursor < data.count, data[cursor] != UInt8(ascii: " ") {
                let byte = data[cursor]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), cursor - start < maxLengthDigits else { return nil }
                length = length * 10 + Int(byte - UInt8(ascii: "0"))
                cursor += 1
            }
            let digits = cursor - start
            // Shortest record: "5 k=\n".
            guard digits > 0, length >= digits + 4, length <= data.count - start else { return nil }
            let end = start + length
            guard data[end - 1] == UInt8(ascii: "\n") else { return nil }
            let body = data[(cursor + 1)..<(end - 1)]
            guard let equals = body.firstIndex(of: UInt8(ascii: "=")), equals > body.startIndex else { return nil }
            records.append((String(decoding: body[..<equals], as: UTF8.self),
                            Array(body[(equals + 1)...])))
            start = end
        }
        return records
    }

    /// One record, its length prefix computed: the prefix counts its own digits, so adding a
    /// digit to it can carry it over to one more (`99` → `100`).
    static func encode(key: String, value: [UInt8]) -> [UInt8] {
        let payload = key.utf8.count + value.count + 3 // space, '=', newline
        var length = payload + String(payload).utf8.count
        if String(length).utf8.count != String(payload).utf8.count {
            length = payload + String(length).utf8.count
        }
        var record: [UInt8] = []
        record.reserveCapacity(length)
        record += String(length).utf8
        record.append(UInt8(ascii: " "))
        record += key.utf8
        record.append(UInt8(ascii: "="))
        record += value
        record.append(UInt8(ascii: "\n"))
        return record
    }
}
