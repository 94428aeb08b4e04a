/// Encodes an entry as ustar header blocks, preceded by a PAX extended header for what ustar
/// cannot hold. Deterministic: the same entry always gives the same bytes.
enum TarHeaderEncoder {
    typealias Layout = TarHeaderLayout

    /// Longest `uname`/`gname` written in the header: 32 bytes less the terminating NUL, which
    /// some readers require.
    private static let maxNameFieldLength = 31
    /// Directory of the PAX header's own (unused) name, as Go's writer does.
    private static let paxHeaderDirectory = "PaxHeaders.0/"

    /// The header blocks for `entry` (512 bytes, or a PAX header with its records first), and
    /// the size of the data that must follow.
    static func encode(_ entry: TarEntry) throws(TarWriterError) -> (blocks: [UInt8], dataSize: Int64) {
        try validate(entry)
        var pax = entry.paxRecords.filter { !PAXRecords.fieldKeys.contains($0.key) && !$0.value.isEmpty }
        var header = [UInt8](repeating: 0, count: Layout.blockSize)

        // Path: the name field, else split over prefix and name, else PAX.
        if let split = ustarPath(entry.path) {
            put(split.prefix, in: &header, at: Layout.prefix)
            put(split.name, in: &header, at: Layout.name)
        } else {
            pax[PAXRecords.path] = Array(entry.path.utf8)
            put(truncated(entry.path, to: Layout.name.count), in: &header, at: Layout.name)
        }
        if fits(entry.linkName, Layout.linkName.count) {
            put(Array(entry.linkName.utf8), in: &header, at: Layout.linkName)
        } else {
            pax[PAXRecords.linkPath] = Array(entry.linkName.utf8)
            put(truncated(entry.linkName, to: Layout.linkName.count), in: &header, at: Layout.linkName)
        }
        for (value, range, key) in [(entry.userName, Layout.userName, PAXRecords.userName),
                                    (entry.groupName, Layout.groupName, PAXRecords.groupName)] {
            if fits(value, maxNameFieldLength) {
                put(Array(value.utf8), in: &header, at: range)
            } else {
                pax[key] = Array(value.utf8)
                put(truncated(value, to: maxNameFieldLength), in: &header, at: range)
            }
        }

        // Numbers that do not fit their octal field go to PAX, with 0 in the field.
        let dataSize = entry.dataSize
        for (value, range, key) in [(dataSize, Layout.size, PAXRecords.size),
                                    (Int64(entry.uid), Layout.uid, PAXRecords.uid),
                                    (Int64(entry.gid), Layout.gid, PAXRecords.gid)] {
            if value <= TarNumericField.maxOctal(width: range.count) {
                putOctal(value, in: &header, at: range)
            } else {
                pax[key] = Array(String(value).utf8)
                putOctal(0, in: &header, at: range)
            }
        }
        let time = entry.modificationTime
        if time.nanoseconds == 0, time.seconds >= 0, time.seconds <= TarNumericField.maxOctal(width: Layout.mtime.count) {
            putOctal(time.seconds, in: &header, at: Layout.mtime)
        } else {
            pax[PAXRecords.modificationTime] = Array(time.description.utf8)
            let clamped = min(max(time.seconds, 0), TarNumericField.maxOctal(width: Layout.mtime.count))
            putOctal(clamped, in: &header, at: Layout.mtime)
        }
        putOctal(Int64(entry.mode), in: &header, at: Layout.mode)
        putOctal(Int64(entry.deviceMajor), in: &header, at: Layout.deviceMajor)
        putOctal(Int64(entry.deviceMinor), in: &header, at: Layout.deviceMinor)
        header[Layout.typeFlag] = entry.type.flag
        finishHeader(&header)

        guard !pax.isEmpty else { return (header, dataSize) }
        return (paxHeader(pax, for: entry.path) + header, dataSize)
    }

    private static func validate(_ entry: TarEntry) throws(TarWriterError) {
        guard !entry.path.isEmpty else { throw .invalidField(field: "path", reason: "empty") }
        for (name, value) in [("path", entry.path), ("linkName", entry.linkName),
                              ("userName", entry.userName), ("groupName", entry.groupName)] {
            guard !value.utf8.contains(0) else { throw .invalidField(field: name, reason: "contains a NUL byte") }
        }
        // Values may hold any byte (binary xattrs); keys end at '=' and cannot hold NUL.
        for key in entry.paxRecords.keys {
            guard !key.isEmpty, !key.utf8.contains(UInt8(ascii: "=")), !key.utf8.contains(0) else {
                throw .invalidField(field: "paxRecords", reason: "invalid key '\(key)'")
            }
        }
        guard entry.size >= 0 else { throw .invalidField(field: "size", reason: "negative") }
        guard entry.uid >= 0 else { throw .invalidField(field: "uid", reason: "negative") }
        guard entry.gid >= 0 else { throw .invalidField(field: "gid", reason: "negative") }
        let maxSmall = TarNumericField.maxOctal(width: 8)
        for (name, value) in [("mode", entry.mode), ("deviceMajor", entry.deviceMajor), ("deviceMinor", entry.deviceMinor)] {
            guard Int64(value) <= maxSmall else { throw .invalidField(field: name, reason: "more than 7 octal digits") }
        }
        if case .other(let flag) = entry.type,
           [0, Layout.paxLocalFlag, Layout.paxGlobalFlag, Layout.gnuLongNameFlag, Layout.gnuLongLinkFlag].contains(flag) {
            throw .invalidField(field: "type", reason: "type flag \(flag) is reserved")
        }
    }

    /// `path` as ustar (prefix, name), when it is ASCII and fits: whole in the name field, or
    /// split at a slash into a prefix of at most 155 bytes and a non-empty name of at most 100.
    /// Non-ASCII paths go to PAX, whose records are UTF-8 by definition.
    private static func ustarPath(_ path: String) -> (prefix: [UInt8], name: [UInt8])? {
        let bytes = Array(path.utf8)
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        if bytes.count <= Layout.name.count { return ([], bytes) }
        // A slash at `index` leaves a prefix of `index` bytes and a name of `count - index - 1`.
        let lowest = max(bytes.count - Layout.name.count - 1, 1)
        let highest = min(Layout.prefix.count, bytes.count - 2)
        guard lowest <= highest else { return nil }
        guard let slash = (lowest...highest).first(where: { bytes[$0] == UInt8(ascii: "/") }) else { return nil }
        return (Array(bytes[..<slash]), Array(bytes[(slash + 1)...]))
    }

    private static func fits(_ value: String, _ length: Int) -> Bool {
        value.utf8.count <= length && value.utf8.allSatisfy { $0 < 0x80 }
    }

    /// The longest ASCII prefix of `value` that fits `length` bytes: what readers that ignore
    /// PAX see.
    private static func truncated(_ value: String, to length: Int) -> [UInt8] {
        Array(value.utf8.prefix { $0 < 0x80 && $0 != 0 }.prefix(length))
    }

    /// A PAX `x` header block and its records (sorted by key), padded to whole blocks.
    private static func paxHeader(_ records: [String: [UInt8]], for path: String) -> [UInt8] {
        var data: [UInt8] = []
        for key in records.keys.sorted() {
            data += PAXRecords.encode(key: key, value: records[key]!)
        }
        var header = [UInt8](repeating: 0, count: Layout.blockSize)
        let base = path.split(separator: "/").last.map(String.init) ?? ""
        put(truncated(paxHeaderDirectory + base, to: Layout.name.count), in: &header, at: Layout.name)
        putOctal(0o644, in: &header, at: Layout.mode)
        putOctal(0, in: &header, at: Layout.uid)
        putOctal(0, in: &header, at: Layout.gid)
        putOctal(Int64(data.count), in: &header, at: Layout.size)
        putOctal(0, in: &header, at: Layout.mtime)
        putOctal(0, in: &header, at: Layout.deviceMajor)
        putOctal(0, in: &header, at: Layout.deviceMinor)
        header[Layout.typeFlag] = Layout.paxLocalFlag
        finishHeader(&header)
        return header + data + [UInt8](repeating: 0, count: Layout.padding(after: UInt64(data.count)))
    }

    /// Writes the ustar magic and version, then the checksum (of the block with the checksum
    /// field as spaces): six octal digits, NUL, space, as GNU tar writes it.
    private static func finishHeader(_ header: inout [UInt8]) {
        header.replaceSubrange(Layout.magic, with: Layout.posixMagic)
        header.replaceSubrange(Layout.version, with: Layout.posixVersion)
        header.replaceSubrange(Layout.checksum, with: repeatElement(UInt8(ascii: " "), count: Layout.checksum.count))
        let sum = header.reduce(0) { $0 + Int64($1) }
        putOctal(sum, in: &header, at: Layout.checksum.lowerBound..<(Layout.checksum.upperBound - 1))
    }

    private static func put(_ bytes: [UInt8], in header: inout [UInt8], at range: Range<Int>) {
        precondition(bytes.count <= range.count)
        header.replaceSubrange(range.lowerBound..<(range.lowerBound + bytes.count), with: bytes)
    }

    private static func putOctal(_ value: Int64, in header: inout [UInt8], at range: Range<Int>) {
        header.withUnsafeMutableBytes { TarNumericField.format(value, into: UnsafeMutableRawBufferPointer(rebasing: $0[range])) }
    }
}
