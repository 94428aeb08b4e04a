import Foundation
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryTestSupport
import Testing

/// The signals that cross features: a quota warning reaches the metrics and the event
/// endpoints, a rate-limited request and an event delivery that fails are counted in the metrics.
@Suite("Operational signals across features")
struct OperationalSignalTests {
    @Test func aQuotaWarningIsCountedAndSentAsAnEvent() async throws {
        let receiver = try await EventReceiver.start()
        defer { Task { await receiver.close() } }
        let events = try await EventTests.events("""
            events:
              endpoints:
            \(EventTests.endpoint("ops", receiver, extra: "      actions: [quota]"))
            """)
        try await TestRegistry.with(configure: { configuration in
            EventTests.configure(events)(&configuration)
            configuration.metrics.storageRefresh = nil
            configuration.quotas = StorageQuotas(
                warnPercent: 80, rules: [StorageQuotaRule(name: "team", repositories: [RepositoryPattern("team/**")], limit: 10 * 1024)])
        }) { client in
            try await client.pushBlob(RegistryClient.randomBytes(4 * 1024), to: "team/app")
            #expect(try await client.scrape().value("registry_quota_warnings_total") == 0)
            // 4 + 5 KiB of 10 KiB: past 80 %.
            try await client.pushBlob(RegistryClient.randomBytes(5 * 1024), to: "team/app")
            #expect(try await client.scrape().value("registry_quota_warnings_total") == 1)

            let delivery = try #require(try await receiver.waitForDeliveries(1).first)
            #expect(delivery.type == "io.github.swift-oci-registry.repository.quota_warning")
            #expect(delivery.data["repository"] as? String == "team/app")
            #expect(delivery.data["action"] as? String == "quota")
            #expect(delivery.data["quota"] as? String == "team")
            #expect(delivery.data["used"] as? Int == 9 * 1024)
            #expect(delivery.data["limit"] as? Int == 10 * 1024)
            // Only quota events were asked for: the pushes sent none.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(receiver.deliveries.count == 1)
        }
    }

    @Test func rateLimitedRequestsAreCounted() async throws {
        try await TestRegistry.with(configure: {
            $0.rateLimits = RateLimitPolicy(pull: RateLimit(perSecond: 0.01, burst: 1))
        }) { client in
            let blob = try await client.pushBlob(RegistryClient.randomBytes(100), to: "team/app")
            #expect(try await client.request(.GET, "/v2/team/app/blobs/\(blob)").status == .ok)
            #expect(try await client.request(.GET, "/v2/team/app/blobs/\(blob)").status == .tooManyRequests)
            #expect(try await client.request(.HEAD, "/v2/team/app/blobs/\(blob)").status == .tooManyRequests)
            #expect(try await client.scrape().value("registry_requests_throttled_total") == 2)
        }
    }

    @Test func failedEventDeliveriesAndPendingEventsAreExported() async throws {
        let receiver = try await EventReceiver.start(behaviour: .refuse(.serviceUnavailable))
        defer { Task { await receiver.close() } }
        let events = try await EventTests.events("""
            events:
              endpoints:
            \(EventTests.endpoint("down", receiver))
            """)
        try await TestRegistry.with(configure: EventTests.configure(events)) { client in
            try await client.pushImage(to: "team/app", tag: "v1")
            try await client.pushImage(to: "team/app", tag: "v2")
            // The first attempt fails at once; the pending gauge is refreshed every 2 s.
            let deadline = ContinuousClock.now + .seconds(15)
            var scrape = try await client.scrape()
            while ContinuousClock.now < deadline,
                  scrape.value("registry_event_deliveries_failed_total") < 1 || scrape.value("registry_events_pending") < 2 {
                try await Task.sleep(for: .milliseconds(200))
                scrape = try await client.scrape()
            }
            #expect(scrape.value("registry_event_deliveries_failed_total") >= 1)
            #expect(scrape.value("registry_events_pending") == 2)
            #expect(scrape.value("registry_events_dropped_total") == 0)

            receiver.behaviour = .accept
            try await receiver.waitForDeliveries(2, within: .seconds(30))
        }
    }
}
