/// What a tar entry is: its header's type flag.
public enum TarEntryType: Sendable, Hashable, CustomStringConvertible {
    /// `0`, the old `\0`, and `7` (contiguous file, which POSIX says to read as a regular file).
    case regularFile
    /// `1`: another name for an earlier entry's file (`linkName`).
    case hardLink
    /// `2`: a symbolic link to `linkName`.
    case symbolicLink
    /// `3`
    case characterDevice
    /// `4`
    case blockDevice
    /// `5`
    case directory
    /// `6`
    case fifo
    /// Any other type flag, for example GNU's `S` (sparse file) or `V` (volume label). Its data
    /// (`size` bytes) is passed through unchanged.
    case other(UInt8)

    init(flag: UInt8) {
        switch flag {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): self = .regularFile
        case UInt8(ascii: "1"): self = .hardLink
        case UInt8(ascii: "2"): self = .symbolicLink
        case UInt8(ascii: "3"): self = .characterDevice
        case UInt8(ascii: "4"): self = .blockDevice
        case UInt8(ascii: "5"): self = .directory
        case UInt8(ascii: "6"): self = .fifo
        default: self = .other(flag)
        }
    }

    /// The type flag `TarWriter` writes.
    var flag: UInt8 {
        switch self {
        case .regularFile: UInt8(ascii: "0")
        case .hardLink: UInt8(ascii: "1")
        case .symbolicLink: UInt8(ascii: "2")
        case .characterDevice: UInt8(ascii: "3")
        case .blockDevice: UInt8(ascii: "4")
        case .directory: UInt8(ascii: "5")
        case .fifo: UInt8(ascii: "6")
        case .other(let flag): flag
        }
    }

    /// Whether `size` bytes of data follow the header. Links, devices, directories and fifos
    /// carry none whatever their size field says, as Go's `archive/tar` (which Docker and
    /// containerd extract layers with) reads them.
    public var carriesData: Bool {
        switch self {
        case .regularFile, .other: true
        case .hardLink, .symbolicLink, .characterDevice, .blockDevice, .directory, .fifo: false
        }
    }

    public var description: String {
        switch self {
        case .regularFile: "file"
        case .hardLink: "hardlink"
        case .symbolicLink: "symlink"
        case .characterDevice: "char"
        case .blockDevice: "block"
        case .directory: "dir"
        case .fifo: "fifo"
        case .other(let flag):
            flag >= 0x21 && flag < 0x7F ? "other '\(Character(Unicode.Scalar(flag)))'" : "other (\(flag))"
        }
    }
}
