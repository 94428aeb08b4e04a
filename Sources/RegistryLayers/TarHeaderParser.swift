/// Reads one 512-byte header block.
enum TarHeaderParser {
    enum Block {
        /// All zero: part of the end-of-archive marker.
        case zero
        /// A header, with the fields the block itself holds (before PAX records or GNU long
        /// names apply). `entry.type` is `.other(flag)` for PAX and GNU long-name headers.
        case header(flag: UInt8, entry: TarEntry)
    }

    /// Parses `block` (512 bytes) found at `offset` of the stream.
    static func parse(_ block: UnsafeRawBufferPointer, offset: UInt64) throws(TarError) -> Block {
        typealias Layout = TarHeaderLayout
        precondition(block.count == Layout.blockSize)
        if !block.contains(where: { $0 != 0 }) { return .zero }
        try verifyChecksum(block, offset: offset)

        func field(_ range: Range<Int>) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: block[range])
        }
        func number<T: FixedWidthInteger>(_ range: Range<Int>, _ name: String, as type: T.Type) throws(TarError) -> T {
            guard let value = TarNumericField.parse(field(range)), let converted = T(exactly: value) else {
                throw .invalidNumericField(field: name, offset: offset)
            }
            return converted
        }

        let magic = field(Layout.magic)
        let isPOSIX = magic.elementsEqual(Layout.posixMagic)
        let isGNU = magic.elementsEqual(Layout.gnuMagic)
        let flag = block[Layout.typeFlag]

        var path = string(field(Layout.name))
        if isPOSIX {
            let isStar = field(Layout.starTrailer).elementsEqual(Layout.starTrailerBytes)
            let prefix = string(field(isStar ? Layout.starPrefix : Layout.prefix))
            if !prefix.isEmpty { path = prefix + "/" + path }
        }
        let size = try number(Layout.size, "size", as: Int64.self)
        guard size >= 0 else { throw .invalidNumericField(field: "size", offset: offset) }
        var entry = TarEntry(
            path: path,
            type: TarEntryType(flag: flag),
            size: size,
            mode: try number(Layout.mode, "mode", as: UInt32.self),
            uid: try number(Layout.uid, "uid", as: Int.self),
            gid: try number(Layout.gid, "gid", as: Int.self),
            modificationTime: TarTimestamp(seconds: try number(Layout.mtime, "mtime", as: Int64.self)),
            linkName: string(field(Layout.linkName))
        )
        // V7 archives (no magic) end the header at the link name.
        if isPOSIX || isGNU {
            entry.userName = string(field(Layout.userName))
            entry.groupName = string(field(Layout.groupName))
            entry.deviceMajor = try number(Layout.deviceMajor, "devmajor", as: UInt32.self)
            entry.deviceMinor = try number(Layout.deviceMinor, "devminor", as: UInt32.self)
        }
        return .header(flag: flag, entry: entry)
    }

    /// The checksum is the sum of the header's bytes with the checksum field counted as spaces.
    /// Some historic tars summed signed bytes; either sum is accepted, as GNU tar and Go do.
    private static func verifyChecksum(_ block: UnsafeRawBufferPointer, offset: UInt64) throws(TarError) {
        guard let recorded = TarNumericField.parse(UnsafeRawBufferPointer(rebasing: block[TarHeaderLayout.checksum])) else {
            throw .invalidChecksum(offset: offset)
        }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in block.enumerated() {
            let counted = TarHeaderLayout.checksum.contains(index) ? UInt8(ascii: " ") : byte
            unsigned += Int64(counted)
            signed += Int64(Int8(bitPattern: counted))
        }
        guard recorded == unsigned || recorded == signed else { throw .invalidChecksum(offset: offset) }
    }

    /// A NUL-terminated string field (a field filled to the end has no NUL).
    static func string(_ field: UnsafeRawBufferPointer) -> String {
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: UnsafeRawBufferPointer(rebasing: field[..<end]), as: UTF8.self)
    }
}
