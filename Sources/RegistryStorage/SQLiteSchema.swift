/// The metadata schema. Every listing the API offers is served by a primary key or an index.
enum SQLiteSchema {
    static let version = 7

    /// Brings a database made by an older version up to date, keyed by the version it has.
    static let migrations: [Int: [String]] = [
        // 2: when each tag was last pulled, for retention rules.
        1: ["ALTER TABLE tags ADD COLUMN pulled_at INTEGER"],
        // 3: `blob_tombstones` (created by `statements`, as for a new database).
        2: [],
        // 4: the event outbox, the audit log, robot accounts (created by `statements`).
        3: [],
        // 5: `layer_facts` (created by `statements`).
        4: [],
        // 6: the audit log's records become a time and a context each (`audit_entries`,
        // `audit_contexts`); a version 3 database has no `audit_log` yet, hence its creation.
        5: [oldAuditLog] + auditContexts + [version6AuditEntries] + [
            """
            INSERT INTO audit_contexts (user_name, robot, address, user_agent, action, repository, reference, status, last_at)
            SELECT user_name, robot, address, user_agent, action, repository, reference, status, max(at) FROM audit_log
            GROUP BY user_name, robot, address, user_agent, action, repository, reference, status
            """,
            """
            INSERT INTO audit_entries (id, at, context_id)
            SELECT l.id, l.at, c.id FROM audit_log l JOIN audit_contexts c ON \(sameAuditContext("c", "l"))
            """,
            "DROP TABLE audit_log",
        ],
        // 7: the records of a context written by one batch become one row (`audit_runs`); each
        // entry becomes a run of one, keeping its id, and the ids go on from the last one given.
        6: auditRuns + [
            """
            INSERT INTO audit_runs (first_id, last_id, first_at, min_at, max_at, count, context_id, entries)
            SELECT id, id, at, at, at, 1, context_id, x'0000' FROM audit_entries
            """,
            """
            UPDATE audit_sequence SET next_id = max(
                next_id,
                coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_entries'), 0) + 1,
                coalesce((SELECT max(id) FROM audit_entries), 0) + 1)
            """,
            "DROP TABLE audit_entries",
            "DELETE FROM sqlite_sequence WHERE name = 'audit_entries'",
        ],
    ]

    /// The audit log (`AuditLogStore`). An audit log repeats itself: the same clients pull the
    /// same things again and again. So each distinct context of a record (who, from where,
    /// with which client, did what to what, and how it ended) is stored once, in
    /// `audit_contexts`, and the records of one context that one batch writes are one row of
    /// `audit_runs` (see `auditRuns`). A context's `last_at` is at least the time of every
    /// record that refers to it, so pruning deletes the contexts whose `last_at` is older than
    /// the cutoff. AUTOINCREMENT: an id is never reused, even once every row is deleted, so an
    /// id a process cached for a context that was deleted since can never name another one.
    static let auditContexts: [String] = [
        """
        CREATE TABLE IF NOT EXISTS audit_contexts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_name TEXT,
            robot INTEGER NOT NULL,
            address TEXT NOT NULL,
            user_agent TEXT NOT NULL,
            action TEXT NOT NULL,
            repository TEXT,
            reference TEXT,
            status INTEGER NOT NULL,
            last_at INTEGER NOT NULL
        )
        """,
        // Finding contexts by their values: once per process for each (then its id is cached).
        """
        CREATE INDEX IF NOT EXISTS audit_contexts_by_value
        ON audit_contexts(reference, repository, action, user_name, address, user_agent, status, robot)
        """,
        "CREATE INDEX IF NOT EXISTS audit_contexts_by_last_use ON audit_contexts(last_at)",
    ]

    /// A batch of audit records is one transaction that takes the next ids from
    /// `audit_sequence` (one per record, in the order they were recorded: the paging cursor)
    /// and inserts one row per context: the run's first and last record ids, its times, and
    /// the records' ids and times packed in `entries` (see `AuditRun`). Writing a batch of
    /// pulls by one client is then one row, not one per record, which is what keeps the audit
    /// log's cost on pulls small. Runs of one batch interleave by id, runs of different batches
    /// do not: listing oldest first reads runs by `first_id`, newest first by `last_id`. The
    /// sequence only grows: an id is never given twice, so a paging cursor never skips a record.
    static let auditRuns: [String] = [
        """
        CREATE TABLE IF NOT EXISTS audit_runs (
            first_id INTEGER PRIMARY KEY,
            last_id INTEGER NOT NULL,
            first_at INTEGER NOT NULL,
            min_at INTEGER NOT NULL,
            max_at INTEGER NOT NULL,
            count INTEGER NOT NULL,
            context_id INTEGER NOT NULL,
            entries BLOB NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX IF NOT EXISTS audit_runs_by_last_id ON audit_runs(last_id)",
        "CREATE INDEX IF NOT EXISTS audit_runs_by_time ON audit_runs(max_at)",
        "CREATE TABLE IF NOT EXISTS audit_sequence (next_id INTEGER NOT NULL)",
        "INSERT INTO audit_sequence (next_id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM audit_sequence)",
    ]

    /// Schema version 6's records: one row each, a time and a context.
    private static let version6AuditEntries = """
        CREATE TABLE IF NOT EXISTS audit_entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            context_id INTEGER NOT NULL
        )
        """

    /// The condition that rows `a` and `b` (of `audit_contexts`, or of a table with its value
    /// columns) hold the same context: value by value, `NULL`s equal (`IS`), text byte by byte.
    static func sameAuditContext(_ a: String, _ b: String) -> String {
        """
        \(a).reference IS \(b).reference AND \(a).repository IS \(b).repository AND \(a).action = \(b).action \
        AND \(a).user_name IS \(b).user_name AND \(a).address = \(b).address AND \(a).user_agent = \(b).user_agent \
        AND \(a).status = \(b).status AND \(a).robot = \(b).robot
        """
    }

    /// Schema version 5's audit log: one row per record, every value in it.
    private static let oldAuditLog = """
        CREATE TABLE IF NOT EXISTS audit_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            user_name TEXT,
            robot INTEGER NOT NULL,
            address TEXT NOT NULL,
            user_agent TEXT NOT NULL,
            action TEXT NOT NULL,
            repository TEXT,
            reference TEXT,
            status INTEGER NOT NULL
        )
        """

    static let statements: [String] = [
        """
        CREATE TABLE IF NOT EXISTS repositories (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS blobs (
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE IF NOT EXISTS repository_blobs (
            repository_id INTEGER NOT NULL,
            digest TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (repository_id, digest)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS repository_blobs_by_digest ON repository_blobs(digest)",
        """
        CREATE TABLE IF NOT EXISTS manifests (
            repository_id INTEGER NOT NULL,
            digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            content BLOB NOT NULL,
            subject TEXT,
            artifact_type TEXT,
            annotations TEXT,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (repository_id, digest)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS manifests_by_subject ON manifests(repository_id, subject) WHERE subject IS NOT NULL",
        """
        CREATE TABLE IF NOT EXISTS manifest_references (
            repository_id INTEGER NOT NULL,
            manifest_digest TEXT NOT NULL,
            child_digest TEXT NOT NULL,
            child_is_manifest INTEGER NOT NULL,
            PRIMARY KEY (repository_id, manifest_digest, child_digest)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS manifest_references_by_child ON manifest_references(child_digest)",
        """
        CREATE TABLE IF NOT EXISTS tags (
            repository_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            manifest_digest TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            pulled_at INTEGER,
            PRIMARY KEY (repository_id, name)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS tags_by_manifest ON tags(repository_id, manifest_digest)",
        """
        CREATE TABLE IF NOT EXISTS uploads (
            id TEXT PRIMARY KEY,
            repository TEXT NOT NULL,
            committed_length INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        "CREATE INDEX IF NOT EXISTS uploads_by_update ON uploads(updated_at)",
        // Blobs whose records are gone and whose file is still to be removed (or, with
        // `quarantine`, moved aside). The record goes first, in its own committed transaction,
        // the file after: a crash in between leaves a tombstone the next run finishes, never a
        // record without its file. An upload of the same digest removes the tombstone in the
        // transaction that records the blob again, so a late removal cannot take its file.
        """
        CREATE TABLE IF NOT EXISTS blob_tombstones (
            digest TEXT PRIMARY KEY,
            quarantine INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        // Event notifications (`EventOutbox`), written in the transaction of the change they
        // describe. AUTOINCREMENT: a sequence is never reused, even once every row is deleted,
        // so an endpoint's cursor never skips a new event.
        """
        CREATE TABLE IF NOT EXISTS event_outbox (
            sequence INTEGER PRIMARY KEY AUTOINCREMENT,
            action TEXT NOT NULL,
            repository TEXT NOT NULL,
            body BLOB NOT NULL,
            created_at INTEGER NOT NULL
        )
        """,
        // How far each endpoint's delivery got: the last sequence it is done with.
        """
        CREATE TABLE IF NOT EXISTS event_cursors (
            endpoint TEXT PRIMARY KEY,
            delivered_through INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        // What verifying a layer found (`ImageCatalogStore`), by distribution digest.
        """
        CREATE TABLE IF NOT EXISTS layer_facts (
            digest TEXT PRIMARY KEY,
            diff_id TEXT NOT NULL,
            uncompressed_size INTEGER NOT NULL,
            verified_at INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        // Robot accounts (`RobotAccountStore`): the secret only as a SHA-256 hash; repositories
        // and actions as comma-separated lists.
        """
        CREATE TABLE IF NOT EXISTS robot_accounts (
            name TEXT PRIMARY KEY,
            secret_hash TEXT NOT NULL,
            repositories TEXT NOT NULL,
            actions TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            disabled INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID
        """,
    ] + auditContexts + auditRuns

    /// Made on the writer connection each time it opens (temporary objects, not part of the
    /// schema): finishing an upload is one `INSERT` into `finished_uploads`, whose trigger
    /// removes the session, records the blob and links it to the repository (created if
    /// needed), and lifts a tombstone the digest may have (its file is the new one). A blob
    /// linked again has its link's age reset, as `mountBlob` does. With a `quota_limit`, a blob
    /// the repository does not link yet and that would take its linked bytes past the limit
    /// aborts the statement (``quotaLimitReached``), which undoes only itself.
    /// The message of the trigger's abort when a finish would pass the quota it was given.
    static let quotaLimitReached = "registry: storage quota limit reached"

    static let writerStatements: [String] = [
        """
        CREATE TEMP VIEW finished_uploads (upload_id, repository, digest, size, finished_at, quota_limit)
        AS SELECT NULL, NULL, NULL, NULL, NULL, NULL WHERE 0
        """,
        """
        CREATE TEMP TRIGGER finish_upload INSTEAD OF INSERT ON finished_uploads BEGIN
            SELECT RAISE(ABORT, '\(quotaLimitReached)') WHERE NEW.quota_limit IS NOT NULL
                AND NOT EXISTS (
                    SELECT 1 FROM repositories r JOIN repository_blobs rb ON rb.repository_id = r.id
                    WHERE r.name = NEW.repository AND rb.digest = NEW.digest)
                AND NEW.size + (
                    SELECT coalesce(sum(b.size), 0) FROM repositories r
                    JOIN repository_blobs rb ON rb.repository_id = r.id JOIN blobs b ON b.digest = rb.digest
                    WHERE r.name = NEW.repository) > NEW.quota_limit;
            DELETE FROM uploads WHERE id = NEW.upload_id;
            DELETE FROM blob_tombstones WHERE digest = NEW.digest;
            INSERT INTO repositories (name, created_at) VALUES (NEW.repository, NEW.finished_at)
                ON CONFLICT (name) DO NOTHING;
            INSERT INTO blobs (digest, size, created_at) VALUES (NEW.digest, NEW.size, NEW.finished_at)
                ON CONFLICT (digest) DO NOTHING;
            INSERT INTO repository_blobs (repository_id, digest, created_at)
                SELECT id, NEW.digest, NEW.finished_at FROM repositories WHERE name = NEW.repository
                ON CONFLICT DO UPDATE SET created_at = excluded.created_at;
        END
        """,
        // The contexts of a batch of audit records that the writer has no id for, to be found
        // or made all at once (`SQLiteMetadataStore.appendAuditRecords`).
        """
        CREATE TEMP TABLE audit_new_contexts (
            slot INTEGER PRIMARY KEY,
            reference TEXT,
            repository TEXT,
            action TEXT NOT NULL,
            user_name TEXT,
            address TEXT NOT NULL,
            user_agent TEXT NOT NULL,
            status INTEGER NOT NULL,
            robot INTEGER NOT NULL
        )
        """,
    ]
}
