/// A streaming tar parser: feed it the uncompressed archive in chunks of any size, and it reports
/// entries and their data as they complete.
///
/// ```swift
/// var reader = TarReader()
/// for chunk in chunks {
///     try reader.feed(chunk) { event in
///         switch event {
///         case .entry(let entry): print(entry.path, entry.size)
///         case .data(let bytes): hasher.update(bytes)
///         case .entryEnd: break
///         }
///     }
/// }
/// try reader.finish()
/// ```
///
/// Reads POSIX ustar (with `prefix`), PAX per-file (`x`) and global (`g`) extended headers, GNU
/// long names and long link names (`L`, `K`), GNU base-256 numbers, and V7 headers. Data is
/// handed on without copying; only headers (512 bytes) and PAX/long-name data (at most
/// `metadataLimit` bytes) are buffered, so hostile input cannot make it hold more than that.
/// Every header's checksum is verified.
///
/// The archive ends at two zero blocks; anything after them (the zero padding tar writes up to
/// its record size) is ignored. A stream that stops after a complete entry, or after a single
/// zero block, ends cleanly too, as Go's `archive/tar` accepts.
///
/// After a `TarError`, the reader answers every call with the same error. After an error thrown
/// by the handler, the rest of that chunk was not read: discard the reader.
public struct TarReader: Sendable {
    /// The default cap on one PAX header's or GNU long name's data, and on all global PAX records
    /// together: 1 MiB, as Go's `archive/tar`.
    public static let defaultMetadataLimit = 1 << 20

    public let metadataLimit: Int
    /// The records of the global (`g`) PAX headers read so far, later ones overriding earlier
    /// ones. Every entry's `paxRecords` include them.
    public private(set) var globalPAXRecords: [String: [UInt8]] = [:]
    /// Whether the end-of-archive marker (a zero block) was reached.
    public private(set) var sawEndMarker = false
    /// Bytes of the stream consumed so far.
    public private(set) var offset: UInt64 = 0

    private enum State: Sendable {
        /// Collecting a header block in `block`.
        case header
        /// Collecting the block after a zero block, which must be zero too.
        case secondZeroBlock(firstOffset: UInt64)
        case data(remaining: UInt64, padding: Int)
        case padding(remaining: Int)
        /// Collecting a PAX header's or GNU long name's data in `metadata`.
        case metadata(MetadataKind, remaining: Int, padding: Int, headerOffset: UInt64)
        case end
        case failed(TarError)
    }

    private enum MetadataKind: Sendable {
        case paxLocal, paxGlobal, longName, longLink
    }

    /// What the extended headers read since the last entry say about the next one.
    private struct Pending: Sendable {
        var paxRecords: [String: [UInt8]]?
        var longName: String?
        var longLink: String?
        /// Where the first of those headers was, for `danglingExtendedHeader`.
        var offset: UInt64?
    }

    private var state = State.header
    private var block: [UInt8] = []
    private var metadata: [UInt8] = []
    private var pending = Pending()
    /// Key and value bytes of `globalPAXRecords`, held under `metadataLimit`.
    private var globalRecordBytes = 0

    /// - Parameter metadataLimit: the largest PAX header or GNU long name accepted, and the
    ///   most bytes global PAX records may take together.
    public init(metadataLimit: Int = TarReader.defaultMetadataLimit) {
        self.metadataLimit = metadataLimit
        block.reserveCapacity(TarHeaderLayout.blockSize)
    }

    /// Parses the next chunk of the archive, calling `handler` for each event it completes.
    /// Throws `TarError`, or what `handler` throws.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ handler: (TarEvent) throws -> Void) throws {
        do {
            try process(chunk, handler)
        } catch let error as TarError {
            state = .failed(error)
            throw error
        }
    }

    /// `feed(_:_:)` for any contiguous or non-contiguous byte collection.
    public mutating func feed(_ chunk: some Collection<UInt8>, _ handler: (TarEvent) throws -> Void) throws {
        try withContiguousBytes(of: chunk) { try feed($0, handler) }
    }

    /// Ends the archive: throws `TarError.truncated` when the stream stopped inside a header, an
    /// entry's data or its padding, `danglingExtendedHeader` when it stopped after a PAX or GNU
    /// long-name header.
    public mutating func finish() throws(TarError) {
        switch state {
        case .failed(let error):
            throw error
        case .end:
            return
        case .header where block.isEmpty:
            if let pendingOffset = pending.offset {
                state = .failed(.danglingExtendedHeader(offset: pendingOffset))
                throw .danglingExtendedHeader(offset: pendingOffset)
            }
        case .secondZeroBlock where block.isEmpty:
            break
        default:
            state = .failed(.truncated(offset: offset))
            throw .truncated(offset: offset)
        }
        state = .end
    }

    private mutating func process(_ chunk: UnsafeRawBufferPointer, _ handler: (TarEvent) throws -> Void) throws {
        var input = chunk[...]
        while !input.isEmpty {
            switch state {
            case .failed(let error):
                throw error
            case .end:
                // Record padding after the end marker.
                offset += UInt64(input.count)
                return
            case .header, .secondZeroBlock:
                let blockOffset = offset - UInt64(block.count)
                let parsed: TarHeaderParser.Block
                if block.isEmpty, input.count >= TarHeaderLayout.blockSize {
                    // The whole block is in the chunk: parse it in place.
                    let whole = UnsafeRawBufferPointer(rebasing: input.prefix(TarHeaderLayout.blockSize))
                    parsed = try TarHeaderParser.parse(whole, offset: blockOffset)
                    input = input.dropFirst(TarHeaderLayout.blockSize)
                    offset += UInt64(TarHeaderLayout.blockSize)
                } else {
                    let count = min(TarHeaderLayout.blockSize - block.count, input.count)
                    block.append(contentsOf: input.prefix(count))
                    input = input.dropFirst(count)
                    offset += UInt64(count)
                    guard block.count == TarHeaderLayout.blockSize else { continue }
                    parsed = try block.withUnsafeBytes { try TarHeaderParser.parse($0, offset: blockOffset) }
                    block.removeAll(keepingCapacity: true)
                }
                try handle(parsed, at: blockOffset, handler)
            case .data(let remaining, let padding):
                let count = Int(min(UInt64(input.count), remaining))
                let piece = UnsafeRawBufferPointer(rebasing: input.prefix(count))
                input = input.dropFirst(count)
                offset += UInt64(count)
                let left = remaining - UInt64(count)
                state = left > 0 ? .data(remaining: left, padding: padding) : Self.afterData(padding: padding)
                try handler(.data(piece))
                if left == 0 { try handler(.entryEnd) }
            case .padding(let remaining):
                let count = min(input.count, remaining)
                input = input.dropFirst(count)
                offset += UInt64(count)
                state = Self.afterData(padding: remaining - count)
            case .metadata(let kind, let remaining, let padding, let headerOffset):
                let count = min(input.count, remaining)
                metadata.append(contentsOf: input.prefix(count))
                input = input.dropFirst(count)
                offset += UInt64(count)
                if count == remaining {
                    try completeMetadata(kind, headerOffset: headerOffset)
                    state = Self.afterData(padding: padding)
                } else {
                    state = .metadata(kind, remaining: remaining - count, padding: padding, headerOffset: headerOffset)
                }
            }
        }
    }

    private static func afterData(padding: Int) -> State {
        padding > 0 ? .padding(remaining: padding) : .header
    }

    private mutating func handle(_ parsed: TarHeaderParser.Block, at blockOffset: UInt64, _ handler: (TarEvent) throws -> Void) throws {
        switch (parsed, state) {
        case (.zero, .secondZeroBlock):
            state = .end
        case (.header, .secondZeroBlock(let firstOffset)):
            throw TarError.loneZeroBlock(offset: firstOffset)
        case (.zero, _):
            if let pendingOffset = pending.offset { throw TarError.danglingExtendedHeader(offset: pendingOffset) }
            sawEndMarker = true
            state = .secondZeroBlock(firstOffset: blockOffset)
        case (.header(let flag, var entry), _):
            if let kind = Self.metadataKind(flag) {
                try beginMetadata(kind, size: entry.size, headerOffset: blockOffset)
                return
            }
            try apply(&entry, headerOffset: blockOffset)
            // Pre-POSIX archives mark directories with the old regular-file flag `\0` and a
            // trailing slash.
            if flag == 0, entry.path.hasSuffix("/") { entry.type = .directory }
            let dataSize = UInt64(entry.dataSize)
            state = dataSize > 0 ? .data(remaining: dataSize, padding: TarHeaderLayout.padding(after: dataSize)) : .header
            try handler(.entry(entry))
            if dataSize == 0 { try handler(.entryEnd) }
        }
    }

    private static func metadataKind(_ flag: UInt8) -> MetadataKind? {
        switch flag {
        case TarHeaderLayout.paxLocalFlag: .paxLocal
        case TarHeaderLayout.paxGlobalFlag: .paxGlobal
        case TarHeaderLayout.gnuLongNameFlag: .longName
        case TarHeaderLayout.gnuLongLinkFlag: .longLink
        default: nil
        }
    }

    private mutating func beginMetadata(_ kind: MetadataKind, size: Int64, headerOffset: UInt64) throws(TarError) {
        guard size <= Int64(metadataLimit) else {
            throw .extendedHeaderTooLarge(size: size, limit: metadataLimit, offset: headerOffset)
        }
        if kind != .paxGlobal, pending.offset == nil { pending.offset = headerOffset }
        metadata.removeAll(keepingCapacity: true)
        metadata.reserveCapacity(Int(size))
        let padding = TarHeaderLayout.padding(after: UInt64(size))
        if size == 0 {
            try completeMetadata(kind, headerOffset: headerOffset)
        } else {
            state = .metadata(kind, remaining: Int(size), padding: padding, headerOffset: headerOffset)
        }
    }

    private mutating func completeMetadata(_ kind: MetadataKind, headerOffset: UInt64) throws(TarError) {
        switch kind {
        case .longName:
            let name = metadata.withUnsafeBytes { TarHeaderParser.string($0) }
            pending.longName = name
        case .longLink:
            let name = metadata.withUnsafeBytes { TarHeaderParser.string($0) }
            pending.longLink = name
        case .paxLocal:
            guard let records = PAXRecords.parse(metadata) else { throw .invalidPAXRecords(offset: headerOffset) }
            // A second `x` header before the entry replaces the first, as in Go's reader.
            pending.paxRecords = Dictionary(records.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        case .paxGlobal:
            guard let records = PAXRecords.parse(metadata) else { throw .invalidPAXRecords(offset: headerOffset) }
            for (key, value) in records {
                if let old = globalPAXRecords.removeValue(forKey: key) { globalRecordBytes -= key.utf8.count + old.count }
                // An empty value deletes the record (POSIX).
                guard !value.isEmpty else { continue }
                globalPAXRecords[key] = value
                globalRecordBytes += key.utf8.count + value.count
            }
            guard globalRecordBytes <= metadataLimit else {
                throw .extendedHeaderTooLarge(size: Int64(globalRecordBytes), limit: metadataLimit, offset: headerOffset)
            }
        }
        // Only the parsed form is kept; a large buffer is not held between headers.
        metadata = []
    }

    /// Applies global then per-file PAX records, then GNU long names (which win, as in Go's
    /// reader), and clears what was pending.
    private mutating func apply(_ entry: inout TarEntry, headerOffset: UInt64) throws(TarError) {
        var records = globalPAXRecords
        for (key, value) in pending.paxRecords ?? [:] {
            // An empty value deletes the record, global or from the header block (POSIX).
            records[key] = value.isEmpty ? nil : value
        }
        let offset = pending.offset ?? headerOffset
        func text(_ key: String) throws(TarError) -> String? {
            guard let value = records[key] else { return nil }
            // A NUL would end the name for C code that later uses it (Go refuses these too).
            guard !value.contains(0) else { throw .invalidPAXValue(key: key, offset: offset) }
            return String(decoding: value, as: UTF8.self)
        }
        func integer(_ key: String) throws(TarError) -> Int64? {
            guard let text = try text(key) else { return nil }
            guard let value = Int64(text) else { throw .invalidPAXValue(key: key, offset: offset) }
            return value
        }
        if let path = try text(PAXRecords.path) { entry.path = path }
        if let linkPath = try text(PAXRecords.linkPath) { entry.linkName = linkPath }
        if let userName = try text(PAXRecords.userName) { entry.userName = userName }
        if let groupName = try text(PAXRecords.groupName) { entry.groupName = groupName }
        if let size = try integer(PAXRecords.size) {
            guard size >= 0 else { throw .invalidPAXValue(key: PAXRecords.size, offset: offset) }
            entry.size = size
        }
        if let uid = try integer(PAXRecords.uid) {
            guard let value = Int(exactly: uid) else { throw .invalidPAXValue(key: PAXRecords.uid, offset: offset) }
            entry.uid = value
        }
        if let gid = try integer(PAXRecords.gid) {
            guard let value = Int(exactly: gid) else { throw .invalidPAXValue(key: PAXRecords.gid, offset: offset) }
            entry.gid = value
        }
        if let value = try text(PAXRecords.modificationTime) {
            guard let time = TarTimestamp(paxValue: value) else {
                throw .invalidPAXValue(key: PAXRecords.modificationTime, offset: offset)
            }
            entry.modificationTime = time
        }
        if let longName = pending.longName { entry.path = longName }
        if let longLink = pending.longLink { entry.linkName = longLink }
        entry.paxRecords = records
        pending = Pending()
    }
}
