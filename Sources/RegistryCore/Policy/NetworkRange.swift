#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of IP addresses in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address), IPv4
/// and IPv6. IPv4 is held as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so that a client of
/// a dual-stack listener, which reports IPv4 clients in that form, matches an IPv4 range.
public struct NetworkRange: Sendable, Hashable, CustomStringConvertible {
    public let description: String
    private let network: IPAddressBits
    private let prefixLength: Int

    /// Nil for anything but an address with an optional `/prefix` in range for its family.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let (address, isV4) = IPAddressBits.parse(String(parts[0])) else { return nil }
        let width = isV4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...width).contains(parsed) else { return nil }
            length = parsed
        }
        self.prefixLength = isV4 ? 96 + length : length
        self.network = address.masked(to: prefixLength)
        self.description = text
    }

    /// Whether `address` (as the server reports a client's) lies in the range; false for
    /// anything that is not an IP address.
    public func contains(_ address: String) -> Bool {
        guard let (bits, _) = IPAddressBits.parse(address) else { return false }
        return bits.masked(to: prefixLength) == network
    }

    public static func == (lhs: NetworkRange, rhs: NetworkRange) -> Bool {
        lhs.network == rhs.network && lhs.prefixLength == rhs.prefixLength
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(network)
        hasher.combine(prefixLength)
    }
}

/// 128 bits of an IPv6 address (IPv4 mapped into `::ffff:0:0/96`).
private struct IPAddressBits: Hashable {
    var high: UInt64
    var low: UInt64

    /// The address and whether it was written as IPv4. A zone (`fe80::1%eth0`) is ignored.
    static func parse(_ text: String) -> (IPAddressBits, isV4: Bool)? {
        let address = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let value = UInt32(bigEndian: v4.s_addr)
            return (IPAddressBits(high: 0, low: 0xFFFF_0000_0000 | UInt64(value)), true)
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (IPAddressBits(high: high, low: low), false)
    }

    func masked(to length: Int) -> IPAddressBits {
        func mask(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits)) }
        return IPAddressBits(high: high & mask(length), low: low & mask(length - 64))
    }
}
