import RegistryModel
import RegistryStorage

/// The in-memory half of upload sessions: the running hash and length of each session this
/// process has touched, and which session a request is currently writing to.
///
/// The durable half (repository, committed length) is in the ``MetadataStore``; after a restart
/// a session is rebuilt from it and from its data file.
actor UploadSessionTable {
    struct State: Sendable {
        var repository: RepositoryName
        var hasher: DigestHasher
        var length: Int64
    }

    enum Reservation: Sendable {
        /// The caller holds the session and must ``release(_:state:)`` it.
        case held(State)
        /// The session is not in memory: the caller holds it, must load it, then release it.
        case mustLoad
        /// Another request is writing to it.
        case busy
    }

    private enum Entry {
        case idle(State)
        case inUse
    }

    private var entries: [UploadID: Entry] = [:]

    func reserve(_ id: UploadID) -> Reservation {
        switch entries[id] {
        case .idle(let state)?:
            entries[id] = .inUse
            return .held(state)
        case .inUse?:
            return .busy
        case nil:
            entries[id] = .inUse
            return .mustLoad
        }
    }

    /// Puts a held session back; `nil` forgets it (finished, cancelled or unloadable).
    func release(_ id: UploadID, state: State?) {
        entries[id] = state.map { .idle($0) }
    }

    /// Holds a brand-new session while it is being created; the caller must
    /// ``release(_:state:)`` it.
    func begin(_ id: UploadID) {
        entries[id] = .inUse
    }

}
