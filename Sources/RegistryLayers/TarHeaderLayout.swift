/// Where the fields of a 512-byte tar header block are (POSIX ustar, which GNU and PAX archives
/// share for all the fields read here).
enum TarHeaderLayout {
    static let blockSize = 512

    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size = 124..<136
    static let mtime = 136..<148
    static let checksum = 148..<156
    static let typeFlag = 156
    static let linkName = 157..<257
    /// `ustar\0` then version `00` (POSIX), or `ustar ` then ` \0` (GNU).
    static let magic = 257..<263
    static let version = 263..<265
    static let userName = 265..<297
    static let groupName = 297..<329
    static let deviceMajor = 329..<337
    static let deviceMinor = 337..<345
    /// POSIX ustar only: GNU archives keep other fields here.
    static let prefix = 345..<500
    /// The `star` variant of ustar: a shorter prefix, then times, and `tar\0` at the end.
    static let starPrefix = 345..<476
    static let starTrailer = 508..<512

    static let posixMagic: [UInt8] = Array("ustar\0".utf8)
    static let posixVersion: [UInt8] = Array("00".utf8)
    static let gnuMagic: [UInt8] = Array("ustar ".utf8)
    static let starTrailerBytes: [UInt8] = Array("tar\0".utf8)

    // Type flags of the headers that describe the next entry rather than being one.
    static let paxLocalFlag = UInt8(ascii: "x")
    static let paxGlobalFlag = UInt8(ascii: "g")
    static let gnuLongNameFlag = UInt8(ascii: "L")
    static let gnuLongLinkFlag = UInt8(ascii: "K")

    /// Bytes of zero padding after `size` bytes of data, up to the next block.
    static func padding(after size: UInt64) -> Int {
        Int((UInt64(blockSize) - size % UInt64(blockSize)) % UInt64(blockSize))
    }
}
