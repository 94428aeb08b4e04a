import Foundation
import NIOCore
import RegistryModel
import RegistryStorage
import Testing

/// The event outbox: rows written in the transaction of the change they describe, numbered in
/// commit order, never renumbered; cursors per endpoint. On every backend.
@Suite("Event outbox contract")
struct EventOutboxContractTests {
    private let repository = RepositoryName("team/app")!

    private func manifest(_ seed: UInt8, blobs: [Digest] = []) -> NewManifest {
        NewManifest(
            digest: DigestHasher.digest(of: [seed]), mediaType: MediaType.ociManifest, content: ByteBuffer(bytes: [seed]),
            blobReferences: blobs, manifestReferences: [], subject: nil, artifactType: nil, annotations: nil)
    }

    private func event(_ label: String, action: String = "push") -> OutboxEvent {
        OutboxEvent(action: action, repository: repository.value, body: ByteBuffer(string: label), createdAt: Date())
    }

    private func labels(_ store: any StoreUnderTest, after sequence: Int64 = 0) async throws -> [String] {
        try await store.events(after: sequence, limit: 100).map { String(buffer: $0.event.body) }
    }

    @Test(arguments: MetadataBackend.available)
    func anEventIsWrittenOnlyWhenItsChangeIsCommitted(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            // A put refused for missing references writes neither the manifest nor its event.
            let blob = DigestHasher.digest(of: [1])
            let refused = try await store.putManifest(manifest(9, blobs: [blob]), tags: [Tag("v1")!], in: repository, events: [event("refused")])
            #expect(refused == .missingReferences([blob]))
            #expect(try await labels(store).isEmpty)

            #expect(try await store.putManifest(manifest(7), tags: [Tag("v1")!], in: repository, events: [event("pushed")]) == .stored)
            // Deletes of what is not there write nothing either.
            #expect(try await store.deleteTag(Tag("nope")!, in: repository, events: [event("no-tag", action: "delete")]) == false)
            #expect(try await store.deleteManifest(DigestHasher.digest(of: [8]), in: repository, events: [event("no-manifest")]) == false)
            #expect(try await store.deleteRepository(RepositoryName("no/repo")!, events: [event("no-repo")]) == false)
            #expect(try await store.deleteTag(Tag("v1")!, in: repository, events: [event("tag-deleted")]))
            #expect(try await store.deleteManifest(DigestHasher.digest(of: [7]), in: repository, events: [event("manifest-deleted")]))
            #expect(try await store.deleteRepository(repository, events: [event("repository-deleted")]))
            #expect(try await labels(store) == ["pushed", "tag-deleted", "manifest-deleted", "repository-deleted"])

            let stored = try await store.events(after: 0, limit: 100)
            #expect(stored.first?.event.action == "push")
            #expect(stored.first?.event.repository == repository.value)
            #expect(stored.map(\.sequence) == stored.map(\.sequence).sorted())
        }
    }

    @Test(arguments: MetadataBackend.available)
    func sequencesAreNeverReusedAndCursorsAreKeptPerEndpoint(_ backend: MetadataBackend) async throws {
        try await backend.withStore { store in
            try await store.appendEvents([event("a"), event("b"), event("c")])
            let first = try await store.events(after: 0, limit: 100)
            #expect(first.map { String(buffer: $0.event.body) } == ["a", "b", "c"])
            #expect(try await store.events(after: first[0].sequence, limit: 1).map(\.sequence) == [first[1].sequence])

            #expect(try await store.eventCursor("ci") == nil)
            try await store.setEventCursor("ci", to: first[1].sequence)
            try await store.setEventCursor("audit", to: first[0].sequence)
            #expect(try await store.eventCursor("ci") == first[1].sequence)
            #expect(try await store.eventCursor("audit") == first[0].sequence)
            #expect(try await store.eventCount(after: first[0].sequence) == 2)

            // Everything deleted: the next event still numbers after the last one.
            #expect(try await store.deleteEvents(through: first[2].sequence) == 3)
            #expect(try await store.events(after: 0, limit: 100).isEmpty)
            try await store.appendEvents([event("d")])
            let next = try await store.events(after: 0, limit: 100)
            #expect(next.map { String(buffer: $0.event.body) } == ["d"])
            #expect(next[0].sequence > first[2].sequence)
        }
    }
}
