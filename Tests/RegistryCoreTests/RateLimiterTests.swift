import RegistryCore
import RegistryModel
import Testing

@Suite("Rate limiter")
struct RateLimiterTests {
    private static let second: UInt64 = 1_000_000_000

    @Test func bucketAllowsItsBurstThenSaysWhenToComeBack() {
        let limit = RateLimit(perSecond: 0.5, burst: 3)
        var bucket = TokenBucket(burst: 3, now: 0)
        for _ in 0..<3 { #expect(bucket.take(limit, now: 0) == nil) }
        // One token every 2 s.
        #expect(bucket.take(limit, now: 0) == 2)
        #expect(bucket.take(limit, now: Self.second) == 1)
        #expect(bucket.take(limit, now: 2 * Self.second) == nil)
        // Never more than the burst, however long it waited.
        var rested = TokenBucket(burst: 3, now: 0)
        for _ in 0..<3 { _ = rested.take(limit, now: 0) }
        for _ in 0..<3 { #expect(rested.take(limit, now: 3600 * Self.second) == nil) }
        #expect(rested.take(limit, now: 3600 * Self.second) != nil)
    }

    @Test func retryAfterIsAtLeastOneSecond() {
        let limit = RateLimit(perSecond: 1000, burst: 1)
        var bucket = TokenBucket(burst: 1, now: 0)
        #expect(bucket.take(limit, now: 0) == nil)
        #expect(bucket.take(limit, now: 0) == 1)
    }

    @Test func aVanishinglySmallRateGivesALongRetryAfterNotATrap() throws {
        let limit = try #require(RateLimit(rate: "1e-300/s", burst: 1))
        var bucket = TokenBucket(burst: 1, now: 0)
        #expect(bucket.take(limit, now: 0) == nil)
        #expect(bucket.take(limit, now: 0) == Int(Int32.max))
    }

    @Test func ratesParseWithTheirUnits() {
        #expect(RateLimit(rate: "100/s", burst: 200) == RateLimit(perSecond: 100, burst: 200))
        #expect(RateLimit(rate: "60/m", burst: nil) == RateLimit(perSecond: 1, burst: 60))
        #expect(RateLimit(rate: "7200/h", burst: 5)?.perSecond == 2)
        #expect(RateLimit(rate: "5", burst: nil) == RateLimit(perSecond: 5, burst: 5))
        #expect(RateLimit(rate: "0/s", burst: nil) == nil)
        #expect(RateLimit(rate: "10/d", burst: nil) == nil)
        #expect(RateLimit(rate: "fast", burst: nil) == nil)
        #expect(RateLimit(rate: "10/s", burst: 0) == nil)
    }

    @Test func networkRangesMatchIPv4AndIPv6() throws {
        let ten = try #require(NetworkRange("10.0.0.0/8"))
        #expect(ten.contains("10.1.2.3"))
        #expect(!ten.contains("11.0.0.1"))
        // A dual-stack listener reports IPv4 clients mapped into IPv6.
        #expect(ten.contains("::ffff:10.9.8.7"))
        let host = try #require(NetworkRange("127.0.0.1/32"))
        #expect(host.contains("127.0.0.1") && !host.contains("127.0.0.2"))
        let single = try #require(NetworkRange("192.168.1.7"))
        #expect(single.contains("192.168.1.7") && !single.contains("192.168.1.8"))
        let ula = try #require(NetworkRange("fd00::/8"))
        #expect(ula.contains("fd12:3456::1"))
        #expect(!ula.contains("fe80::1"))
        #expect(try #require(NetworkRange("::1/128")).contains("::1"))
        #expect(try #require(NetworkRange("0.0.0.0/0")).contains("203.0.113.9"))
        #expect(try #require(NetworkRange("2001:db8::/33")).contains("2001:db8:7fff::1"))
        #expect(!(try #require(NetworkRange("2001:db8::/33")).contains("2001:db8:8000::1")))
        #expect(!ten.contains("not-an-address"))
        for invalid in ["10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "example.com", "10.0.0.0/-1", ""] {
            #expect(NetworkRange(invalid) == nil, "\(invalid)")
        }
    }

    @Test func addressAndUserMustBothAllowAndEachKeepsItsOwnBucket() {
        let limiter = RateLimiter(policy: RateLimitPolicy(pull: RateLimit(perSecond: 0.001, burst: 2)))
        func admit(_ address: String, _ user: String?) -> Bool {
            (try? limiter.admit(address: address, user: user, as: .pull, isAdmin: false, now: 0)) != nil
        }
        #expect(admit("10.0.0.1", "alice"))
        #expect(admit("10.0.0.1", "alice"))
        #expect(!admit("10.0.0.1", "alice"))
        // alice is out of tokens wherever she comes from; the refusal gives the address's token back.
        #expect(!admit("10.0.0.2", "alice"))
        #expect(admit("10.0.0.2", "bob"))
        #expect(admit("10.0.0.2", "bob"))
        #expect(!admit("10.0.0.2", nil))
        #expect(limiter.throttledRequests == 3)
        // Another class has its own buckets (here: no limit at all).
        #expect((try? limiter.admit(address: "10.0.0.1", user: "alice", as: .push, isAdmin: false, now: 0)) != nil)
    }

    @Test func refusalIsTooManyRequestsWithRetryAfter() {
        let limiter = RateLimiter(policy: RateLimitPolicy(push: RateLimit(perSecond: 0.25, burst: 1)))
        try? limiter.admit(address: "10.0.0.1", user: nil, as: .push, isAdmin: false, now: 0)
        #expect {
            try limiter.admit(address: "10.0.0.1", user: nil, as: .push, isAdmin: false, now: 0)
        } throws: { error in
            let error = error as? RegistryError
            return error?.code == .tooManyRequests && error?.headers.first?.0 == "Retry-After" && error?.headers.first?.1 == "4"
        }
    }

    @Test func adminsAndExemptNetworksAreNeverLimited() throws {
        let limiter = RateLimiter(policy: RateLimitPolicy(
            other: RateLimit(perSecond: 0.001, burst: 1), exemptNetworks: [try #require(NetworkRange("192.168.0.0/16"))]))
        for _ in 0..<10 {
            try limiter.admit(address: "192.168.4.4", user: "dev", as: .other, isAdmin: false, now: 0)
            try limiter.admit(address: "10.0.0.1", user: "root", as: .other, isAdmin: true, now: 0)
        }
        #expect(limiter.trackedBuckets == 0)
    }

    @Test func tableStaysWithinItsCapDroppingIdleThenOldestBuckets() {
        let limiter = RateLimiter(policy: RateLimitPolicy(pull: RateLimit(perSecond: 1, burst: 1), maxClients: 100))
        // Every bucket emptied: nothing is idle, the oldest go. Each client comes a nanosecond
        // after the previous one (far too soon for a refill), so "oldest" has one meaning.
        for index in 0..<10_000 {
            _ = try? limiter.admit(
                address: "10.0.\(index / 256).\(index % 256)", user: nil, as: .pull, isAdmin: false, now: UInt64(index))
            #expect(limiter.trackedBuckets <= 100)
        }
        // The first client was forgotten: it starts again with a full burst.
        #expect((try? limiter.admit(address: "10.0.0.0", user: nil, as: .pull, isAdmin: false, now: 10_000)) != nil)
        // Large tables are sharded and still bounded.
        let large = RateLimiter(policy: RateLimitPolicy(pull: RateLimit(perSecond: 1, burst: 1), maxClients: 5000))
        for index in 0..<20_000 {
            _ = try? large.admit(address: "fd00::\(String(index, radix: 16))", user: nil, as: .pull, isAdmin: false, now: UInt64(index))
        }
        #expect(large.trackedBuckets <= 5000)
    }
}
