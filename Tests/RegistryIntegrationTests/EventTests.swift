import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import RegistryCore
import RegistryModel
import RegistryServer
import RegistryStorage
import RegistryTestSupport
import Testing

/// Event notifications against a real HTTP receiver on 127.0.0.1.
@Suite("Event notifications")
struct EventTests {
    static let secret = "hook-secret-42"

    /// A file holding the shared secret, as `secret_file` names it (with `echo`'s newline).
    static func secretFile() throws -> String {
        let path = try TestRegistry.makeTemporaryDirectory() + "/hook-secret"
        try Data((secret + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The endpoints as the YAML file configures them (so the parser is exercised too).
    static func events(_ yaml: String) async throws -> EventSettings {
        let path = try TestRegistry.makeTemporaryDirectory() + "/registry.yaml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
        return try await RegistryConfiguration.load(flags: [:], configFile: path, environment: [:]).events
    }

    static func endpoint(_ name: String, _ receiver: EventReceiver, extra: String = "") -> String {
        """
            - name: \(name)
              url: \(receiver.url)
        \(extra)
        """
    }

    static func configure(_ events: EventSettings) -> (inout RegistryConfiguration) -> Void {
        { configuration in
            configuration.events = events
            configuration.gcInterval = nil
        }
    }

    static func isValidSignature(_ delivery: EventReceiver.Delivery) -> Bool {
        guard let header = delivery.header("X-Registry-Signature"), header.hasPrefix("sha256=") else { return false }
        let expected = HMAC<SHA256>.authenticationCode(for: delivery.body, using: SymmetricKey(data: Array(secret.utf8)))
        let hex = expected.map { String(format: "%02x", $0) }.joined()
        return header == "sha256=" + hex
    }

    @Test func aPushArrivesAsASignedCloudEventWithTheConfiguredHeaders() async throws {
        let receiver = try await EventReceiver.start()
        defer { Task { await receiver.close() } }
        let secretFile = try Self.secretFile()
        let events = try await Self.events("""
            events:
              source: /registry-under-test
              endpoints:
            \(Self.endpoint("ci", receiver, extra: """
                  headers: {Authorization: "Bearer abc"}
                  secret_file: \(secretFile)
                  timeout: 5s
            """))
            """)
        try await TestRegistry.with(configure: Self.configure(events)) { client in
            let pushed = try await client.pushImage(to: "team/app", tag: "v1")
            let delivery = try #require(try await receiver.waitForDeliveries(1).first)
            #expect(delivery.header("Content-Type") == "application/cloudevents+json")
            #expect(delivery.header("Authorization") == "Bearer abc")
            #expect(Self.isValidSignature(delivery))
            let event = try delivery.json()
            #expect(event["specversion"] as? String == "1.0")
            #expect((event["id"] as? String)?.isEmpty == false)
            #expect(event["source"] as? String == "/registry-under-test")
            #expect(event["type"] as? String == "io.github.swift-oci-registry.tag.pushed")
            #expect(event["subject"] as? String == "team/app:v1")
            #expect(event["datacontenttype"] as? String == "application/json")
            let time = try #require(event["time"] as? String)
            #expect(try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(time) <= Date())
            let data = delivery.data
            #expect(data["repository"] as? String == "team/app")
            #expect(data["digest"] as? String == pushed.digest.description)
            #expect(data["mediaType"] as? String == MediaType.ociManifest)
            #expect(data["size"] as? Int == pushed.manifest.count)
            #expect(data["tag"] as? String == "v1")
            #expect(data["action"] as? String == "push")
        }
    }

    @Test func anHTTPSEndpointSignedByAPrivateCAIsTrustedThroughItsCAFileAndOnlyThen() async throws {
        let files = try CertificateAuthority.issue(hosts: ["127.0.0.1"], into: try TestRegistry.makeTemporaryDirectory())
        let tls = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(files.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: files.serverKey, format: .pem))))
        let trusting = try await EventReceiver.start(tls: tls)
        let untrusting = try await EventReceiver.start(tls: tls)
        defer { Task { await trusting.close(); await untrusting.close() } }
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("private-ca", trusting, extra: "      ca_file: \(files.caCertificate)"))
            \(Self.endpoint("system-cas", untrusting))
            """)
        await #expect(throws: ConfigurationError.self) {
            try await Self.events("""
                events:
                  endpoints:
                \(Self.endpoint("private-ca", trusting, extra: "      ca_file: \(files.caCertificate).missing"))
                """)
        }
        try await TestRegistry.with(configure: Self.configure(events)) { client in
            try await client.pushImage(to: "team/app", tag: "v1")
            let delivery = try #require(try await trusting.waitForDeliveries(1).first)
            #expect(delivery.type == EventKind.tagPushed.type)
            // Without the CA the receiver's certificate is refused: the first attempt and its
            // retry (after 1 s) end in the handshake, and nothing is delivered.
            let deadline = ContinuousClock.now + .seconds(60)
            while untrusting.connections < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(untrusting.connections >= 2)
            #expect(untrusting.deliveries.isEmpty)
        }
    }

    @Test func pullsDeletesAndMountsEachSendTheirEvent() async throws {
        let receiver = try await EventReceiver.start()
        defer { Task { await receiver.close() } }
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("all", receiver))
            """)
        try await TestRegistry.with(configure: Self.configure(events)) { client in
            let pushed = try await client.pushImage(to: "team/app", tag: "v1")
            try await receiver.waitForDeliveries(1)
            #expect(try await client.request(.HEAD, "/v2/team/app/manifests/v1").status == .ok)
            #expect(try await client.request(.GET, "/v2/team/app/manifests/v1").status == .ok)
            let layer = RegistryClient.randomBytes(64)
            let blob = try await client.pushBlob(layer, to: "team/app")
            #expect(try await client.request(.POST, "/v2/team/copy/blobs/uploads/?mount=\(blob)&from=team/app").status == .created)
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/v1").status == .accepted)
            #expect(try await client.request(.DELETE, "/v2/team/app/manifests/\(pushed.digest)").status == .accepted)
            #expect(try await client.request(.DELETE, "/v2/_admin/repositories/team/copy").status == .accepted)

            let deliveries = try await receiver.waitForDeliveries(6)
            let types = deliveries.map { $0.type.replacingOccurrences(of: EventKind.typePrefix, with: "") }
            // The pull and the mount are queued (written within a second), the deletes are not:
            // compare without their relative order, but a HEAD is never a pull.
            #expect(types.first == "tag.pushed")
            #expect(Set(types) == ["tag.pushed", "manifest.pulled", "blob.mounted", "tag.deleted", "manifest.deleted", "repository.deleted"])
            #expect(types.count == 6)
            let byType = Dictionary(deliveries.map { ($0.type, $0.data) }, uniquingKeysWith: { first, _ in first })
            #expect(byType[EventKind.manifestPulled.type]?["tag"] as? String == "v1")
            #expect(byType[EventKind.manifestPulled.type]?["digest"] as? String == pushed.digest.description)
            #expect(byType[EventKind.blobMounted.type]?["from"] as? String == "team/app")
            #expect(byType[EventKind.blobMounted.type]?["repository"] as? String == "team/copy")
            #expect(byType[EventKind.tagDeleted.type]?["digest"] as? String == pushed.digest.description)
            #expect(byType[EventKind.repositoryDeleted.type]?["repository"] as? String == "team/copy")
        }
    }

    @Test func whatRetentionAndCollectionDeleteIsNotifiedWithItsReason() async throws {
        let receiver = try await EventReceiver.start()
        defer { Task { await receiver.close() } }
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("deletes", receiver, extra: "      actions: [delete]"))
            """)
        try await TestRegistry.with(configure: {
            Self.configure(events)(&$0)
            $0.gcGracePeriod = .zero
            $0.retention = RetentionPolicy(rules: [RetentionRule(repositories: RepositoryPattern("team/**"), keepLast: 1)])
        }) { client in
            let old = try await client.pushImage(to: "team/app", tag: "t1")
            try await Task.sleep(for: .milliseconds(5))
            try await client.pushImage(to: "team/app", tag: "t2")
            let gone = try await client.pushImage(to: "scratch/gone", tag: "latest")
            #expect(try await client.request(.DELETE, "/v2/scratch/gone/manifests/latest").status == .accepted)
            #expect(try await receiver.waitForDeliveries(1).first?.data["reason"] == nil)

            _ = try await client.collectGarbage(deleteUntagged: true)
            let deliveries = try await receiver.waitForDeliveries(5).dropFirst()
            let seen = deliveries.map { delivery in
                let data = delivery.data
                return [
                    delivery.type.replacingOccurrences(of: EventKind.typePrefix, with: ""), data["repository"] as? String ?? "-",
                    data["tag"] as? String ?? "-", data["digest"] as? String ?? "-", data["reason"] as? String ?? "-",
                ]
            }
            // In the collection's order: retention's tags, then each repository's manifests, then
            // the repositories left empty. The registry itself is no actor.
            #expect(seen == [
                ["tag.deleted", "team/app", "t1", old.digest.description, "retention"],
                ["manifest.deleted", "scratch/gone", "-", gone.digest.description, "garbage-collection"],
                ["manifest.deleted", "team/app", "-", old.digest.description, "garbage-collection"],
                ["repository.deleted", "scratch/gone", "-", "-", "garbage-collection"],
            ] || seen == [
                ["tag.deleted", "team/app", "t1", old.digest.description, "retention"],
                ["manifest.deleted", "team/app", "-", old.digest.description, "garbage-collection"],
                ["manifest.deleted", "scratch/gone", "-", gone.digest.description, "garbage-collection"],
                ["repository.deleted", "scratch/gone", "-", "-", "garbage-collection"],
            ])
            #expect(deliveries.allSatisfy { $0.data["actor"] == nil })

            // `registry rm` on the root: written to the outbox by the command, sent by the server.
            var configuration = RegistryConfiguration()
            configuration.root = client.registry.root
            configuration.events = events
            let maintenance = try await RootMaintenance.open(configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            _ = try await maintenance.deleteRepository("team/app")
            try await maintenance.close()
            let removal = try #require(try await receiver.waitForDeliveries(6).last)
            #expect(removal.type == EventKind.repositoryDeleted.type && removal.data["repository"] as? String == "team/app")
            #expect(removal.data["reason"] == nil && removal.data["actor"] == nil)
        }
    }

    @Test func theActorIsTheSignedInUser() async throws {
        let receiver = try await EventReceiver.start()
        defer { Task { await receiver.close() } }
        let htpasswd = try TestUsers.htpasswd("alice")
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("all", receiver))
            """)
        try await TestRegistry.with(configure: {
            Self.configure(events)(&$0)
            $0.htpasswd = htpasswd
        }) { client in
            var alice = client
            alice.authorization = "Basic " + Data("alice:alice-pw".utf8).base64EncodedString()
            try await alice.pushImage(to: "team/app", tag: "v1")
            #expect(try await receiver.waitForDeliveries(1).first?.data["actor"] as? String == "alice")
        }
    }

    @Test func endpointsReceiveOnlyTheActionsAndRepositoriesTheyFilterOn() async throws {
        let pushes = try await EventReceiver.start()
        let deletes = try await EventReceiver.start()
        defer { Task { await pushes.close(); await deletes.close() } }
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("team-pushes", pushes, extra: """
                  actions: [push]
                  repositories: ["team/**"]
            """))
            \(Self.endpoint("deletes", deletes, extra: """
                  actions: [delete]
            """))
            """)
        try await TestRegistry.with(configure: Self.configure(events)) { client in
            try await client.pushImage(to: "team/app", tag: "v1")
            try await client.pushImage(to: "other/app", tag: "v1")
            #expect(try await client.request(.GET, "/v2/team/app/manifests/v1").status == .ok)
            #expect(try await client.request(.DELETE, "/v2/other/app/manifests/v1").status == .accepted)
            try await deletes.waitForDeliveries(1)
            try await pushes.waitForDeliveries(1)
            // Time for anything wrongly sent (the pull is queued for up to a second) to arrive.
            try await Task.sleep(for: .seconds(2))
            #expect(pushes.deliveries.map(\.type) == [EventKind.tagPushed.type])
            #expect(pushes.deliveries.first?.data["repository"] as? String == "team/app")
            #expect(deletes.deliveries.map(\.type) == [EventKind.tagDeleted.type])
            #expect(deletes.deliveries.first?.data["repository"] as? String == "other/app")
        }
    }

    @Test func aReceiverDownForAWhileGetsEveryEventInOrderOnceUp() async throws {
        let receiver = try await EventReceiver.start()
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("ci", receiver))
            """)
        await receiver.close()
        try await TestRegistry.with(configure: Self.configure(events)) { client in
            let tags = (1...5).map { "t\($0)" }
            for tag in tags { try await client.pushImage(to: "team/app", tag: tag) }
            try await Task.sleep(for: .seconds(2))
            #expect(receiver.deliveries.isEmpty)
            try await receiver.reopen()
            // Retries back off up to a few seconds by now.
            let deliveries = try await receiver.waitForDeliveries(5, within: .seconds(30))
            var seen: [String] = []
            for tag in deliveries.compactMap({ $0.data["tag"] as? String }) where !seen.contains(tag) { seen.append(tag) }
            #expect(seen == tags)
        }
        await receiver.close()
    }

    @Test func eventsPendingAtShutdownAreDeliveredAfterARestart() async throws {
        let receiver = try await EventReceiver.start()
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("ci", receiver))
            """)
        await receiver.close()
        let root = try TestRegistry.makeTemporaryDirectory()
        // What both registries warn about, to say why if a delivery does not come.
        let warnings = NIOLockedValueBox<[String]>([])
        let logs: @Sendable (String) -> any LogHandler = { _ in
            RecordingLogHandler(level: .warning) { event in
                warnings.withLockedValue { $0.append("\(event.message) \(event.metadata ?? [:])") }
            }
        }
        let first = try await TestRegistry.start(root: root, logHandler: logs, configure: Self.configure(events))
        let client = RegistryClient(registry: first)
        for tag in ["a", "b", "c"] { try await client.pushImage(to: "team/app", tag: tag) }
        // A pull is queued in memory: the shutdown writes it to the outbox too.
        #expect(try await client.request(.GET, "/v2/team/app/manifests/a").status == .ok)
        await first.stop()
        try await receiver.reopen()
        let second = try await TestRegistry.start(root: root, logHandler: logs, configure: Self.configure(events))
        do {
            let deliveries = try await receiver.waitForDeliveries(4)
            #expect(deliveries.prefix(3).compactMap { $0.data["tag"] as? String } == ["a", "b", "c"])
            #expect(deliveries.last?.type == EventKind.manifestPulled.type)
        } catch {
            Issue.record("\(error); the registries warned: \(warnings.withLockedValue { $0 })")
        }
        await second.stop()
        await receiver.close()
    }

    @Test func anEndpointThatNeverAnswersDoesNotSlowPushes() async throws {
        let hanging = try await EventReceiver.start(behaviour: .hang)
        defer { Task { await hanging.close() } }
        let events = try await Self.events("""
            events:
              endpoints:
            \(Self.endpoint("hangs", hanging, extra: """
                  timeout: 30s
            """))
            """)
        func timePushes(_ client: RegistryClient) async throws -> Duration {
            try await client.pushImage(to: "warm/up", tag: "x")
            let start = ContinuousClock.now
            for index in 0..<10 { try await client.pushImage(to: "team/app", tag: "t\(index)") }
            return ContinuousClock.now - start
        }
        let without = try await TestRegistry.with(configure: { $0.gcInterval = nil }) { try await timePushes($0) }
        let with = try await TestRegistry.with(configure: Self.configure(events)) { client in
            let elapsed = try await timePushes(client)
            #expect(hanging.refused >= 1)
            return elapsed
        }
        // The same work, within noise: nothing on the push path waits for the endpoint.
        #expect(with < without * 2 + .milliseconds(500), "with a hanging endpoint \(with), without \(without)")
    }

    @Test func eventsPastMaxAgeAreDroppedWithALogLine() async throws {
        let receiver = try await EventReceiver.start(behaviour: .refuse(.serviceUnavailable))
        defer { Task { await receiver.close() } }
        let events = try await Self.events("""
            events:
              max_age: 2s
              endpoints:
            \(Self.endpoint("ci", receiver))
            """)
        let dropped = NIOLockedValueBox<[String]>([])
        let warnings = NIOLockedValueBox<[String]>([])
        let registry = try await TestRegistry.start(
            logHandler: { _ in
                RecordingLogHandler(level: .warning) { event in
                    if event.message.description.hasPrefix("event dropped") {
                        dropped.withLockedValue { $0.append(event.metadata?["repository"]?.description ?? "") }
                    } else if !event.message.description.hasPrefix("event delivery failed") {
                        warnings.withLockedValue { $0.append("\(event.message) \(event.metadata ?? [:])") }
                    }
                }
            },
            configure: Self.configure(events))
        let client = RegistryClient(registry: registry)
        do {
            try await client.pushImage(to: "team/old", tag: "v1")
            // Refused at once, then retried after 1 s and 2 s: past 2 s it is given up (the
            // deadline leaves room for a machine busy with the whole suite). How many attempts
            // came first is not checked: on a starved machine the first may come after 2 s, and
            // the event is then dropped untried, as max_age says. The attempts before a drop
            // are counted in `theDeliveryCountsFailedDroppedDeliveredAndPendingEvents`.
            let deadline = ContinuousClock.now + .seconds(60)
            while dropped.withLockedValue({ $0.isEmpty }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(dropped.withLockedValue { $0 } == ["team/old"])
            receiver.behaviour = .accept
            try await client.pushImage(to: "team/new", tag: "v1")
            do {
                let deliveries = try await receiver.waitForDeliveries(1)
                #expect(deliveries.map { $0.data["repository"] as? String } == ["team/new"])
            } catch {
                Issue.record("\(error); the registry warned: \(warnings.withLockedValue { $0 })")
            }
        } catch {
            await registry.stop()
            throw error
        }
        await registry.stop()
    }

    /// The figures the metrics report, on a delivery over a real SQLite outbox.
    @Test func theDeliveryCountsFailedDroppedDeliveredAndPendingEvents() async throws {
        let receiver = try await EventReceiver.start(behaviour: .refuse(.internalServerError))
        defer { Task { await receiver.close() } }
        let directory = try TestRegistry.makeTemporaryDirectory()
        let logger = Logger(label: "events", factory: { _ in SwiftLogNoOpLogHandler() })
        let store = try await SQLiteMetadataStore.open(path: directory + "/metadata.sqlite", logger: logger)
        let settings = EventDelivery.Settings(
            // Old enough for a few failed attempts before the drop, and for the second event to be
            // delivered before it would be dropped, on a machine busy with the whole suite.
            endpoints: [EventEndpoint(name: "ci", url: receiver.url)], maxAge: .seconds(10),
            backoff: DeliveryBackoff(initial: .milliseconds(200), maximum: .milliseconds(400)), pollInterval: .milliseconds(50))
        let notifications = EventNotifications(outbox: store, jobs: store, source: "/test", settings: settings, logger: logger)
        let repository = try #require(RepositoryName("team/app"))
        notifications.recorder.record(RegistryEvent(.manifestPulled, repository: repository))
        try await notifications.recorder.flush()
        let delivery = notifications.delivery
        let task = Task { await delivery.run() }
        func wait(_ condition: () -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(40)
            while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        }
        try await wait { delivery.dropped == 1 }
        #expect(delivery.dropped == 1)
        #expect(delivery.failed >= 2)
        #expect(delivery.delivered == 0)

        receiver.behaviour = .accept
        notifications.recorder.record(RegistryEvent(.manifestPulled, repository: repository))
        try await notifications.recorder.flush()
        try await wait { delivery.delivered == 1 && delivery.pending == 0 }
        #expect(delivery.delivered == 1)
        // Delivered and dropped events both leave the outbox.
        #expect(delivery.pending == 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while try await !store.events(after: 0, limit: 10).isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await store.events(after: 0, limit: 10).isEmpty)
        task.cancel()
        await task.value
        try await store.close()
    }
}
