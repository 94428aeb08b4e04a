/// One entry of a tar archive: the header, after PAX records and GNU long names were applied.
public struct TarEntry: Sendable, Hashable {
    /// The path as stored (`name`, joined to the ustar `prefix`, or the PAX `path` record, or a
    /// GNU long name). Not normalised: `./a`, `a/`, `../x` and whiteouts (`.wh.foo`,
    /// `.wh..wh..opq`) come through as written. Bytes that are not UTF-8 read as U+FFFD.
    public var path: String
    public var type: TarEntryType
    /// The size field (or PAX `size`). Only `type.carriesData` types have that many bytes of data;
    /// see `dataSize`.
    public var size: Int64
    /// Permission bits (and set-id/sticky bits) as stored in the `mode` field.
    public var mode: UInt32
    public var uid: Int
    public var gid: Int
    /// `uname`
    public var userName: String
    /// `gname`
    public var groupName: String
    /// `mtime`, with the PAX record's fraction of a second when there is one.
    public var modificationTime: TarTimestamp
    /// `linkname` (or PAX `linkpath`, or a GNU long link): a hard link's target entry path, or a
    /// symbolic link's target.
    public var linkName: String
    /// `devmajor`, `devminor`: for character and block devices.
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    /// The PAX extended records that applied to this entry, global ones included (an entry's own
    /// record wins over a global one): `path`, `size`, `mtime` and the like as well as the
    /// rest, `atime`, `ctime`, `SCHILY.xattr.*`, `GNU.sparse.*`. Values are bytes because xattr
    /// values are binary (`security.capability`) and must survive a rewrite unchanged;
    /// `paxRecord(_:)` reads one as text. `TarWriter` writes all of them except those it
    /// derives from the fields above.
    public var paxRecords: [String: [UInt8]]

    public init(
        path: String,
        type: TarEntryType = .regularFile,
        size: Int64 = 0,
        mode: UInt32 = 0o644,
        uid: Int = 0,
        gid: Int = 0,
        userName: String = "",
        groupName: String = "",
        modificationTime: TarTimestamp = .zero,
        linkName: String = "",
        deviceMajor: UInt32 = 0,
        deviceMinor: UInt32 = 0,
        paxRecords: [String: [UInt8]] = [:]
    ) {
        self.path = path
        self.type = type
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.userName = userName
        self.groupName = groupName
        self.modificationTime = modificationTime
        self.linkName = linkName
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.paxRecords = paxRecords
    }

    /// A PAX record's value as UTF-8 text (invalid bytes read as U+FFFD), nil when absent.
    public func paxRecord(_ key: String) -> String? {
        paxRecords[key].map { String(decoding: $0, as: UTF8.self) }
    }

    /// How many bytes of data follow the header: `size`, or 0 for types that carry none.
    public var dataSize: Int64 {
        type.carriesData ? size : 0
    }
}
