//! The schema, as an append-only list of migrations numbered by `PRAGMA user_version`.
//! Never edit a migration that has shipped: add the next one.

/// Migration `n` (1-based) takes the store from version `n - 1` to `n`.
pub const MIGRATIONS: &[&str] = &[
    // 1: feeds, items, many-to-many membership, clusters with each member's reason.
    r#"
    CREATE TABLE feeds (
        id            INTEGER PRIMARY KEY,
        url           TEXT NOT NULL UNIQUE,      -- as configured: the feed's identity
        url_in_use    TEXT NOT NULL,             -- after permanent redirects
        name          TEXT,
        tags          TEXT NOT NULL DEFAULT '[]',-- JSON array
        origin        TEXT NOT NULL DEFAULT 'config',
        active        INTEGER NOT NULL DEFAULT 1,-- 0: no longer in the config; items stay
        state         TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new','ok','error','gone')),
        etag          TEXT,
        last_modified TEXT,
        body_hash     INTEGER,
        last_fetch    INTEGER,
        last_status   INTEGER,
        error_count   INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        next_fetch    INTEGER,
        created       INTEGER NOT NULL
    );

    CREATE TABLE clusters (
        id             INTEGER PRIMARY KEY,
        representative INTEGER,                  -- earliest seen member
        size           INTEGER NOT NULL DEFAULT 0,
        first_ts       INTEGER NOT NULL,         -- earliest member's publication (else fetch) time
        last_ts        INTEGER NOT NULL,         -- newest member's
        created        INTEGER NOT NULL
    );
    CREATE INDEX clusters_by_last_ts ON clusters(last_ts);

    CREATE TABLE items (
        id            INTEGER PRIMARY KEY,
        guid          TEXT NOT NULL,             -- as the feed gave it, else the derived key
        url           TEXT,
        canonical_url TEXT,                      -- only when it identifies the item
        title         TEXT NOT NULL,
        text          TEXT NOT NULL,
        published     INTEGER,
        fetched       INTEGER NOT NULL,          -- first fetch
        ts            INTEGER NOT NULL,          -- published, else fetched
        first_feed    INTEGER NOT NULL REFERENCES feeds(id),
        cluster_id    INTEGER NOT NULL REFERENCES clusters(id),
        rule          TEXT NOT NULL,             -- why it joined its cluster
        score         REAL,
        distance      INTEGER,
        matched       INTEGER,                   -- the member it matched
        simhash       INTEGER NOT NULL,
        fp_version    INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX items_by_canonical_url ON items(canonical_url); -- NULLs may repeat
    CREATE INDEX items_by_cluster ON items(cluster_id);
    CREATE INDEX items_by_ts ON items(ts);

    CREATE TABLE feed_items (
        feed_id    INTEGER NOT NULL REFERENCES feeds(id),
        key        TEXT NOT NULL,                -- identity within the feed
        item_id    INTEGER NOT NULL REFERENCES items(id),
        first_seen INTEGER NOT NULL,
        PRIMARY KEY (feed_id, key)
    ) WITHOUT ROWID;
    CREATE INDEX feed_items_by_item ON feed_items(item_id);
    "#,
    // 2: watches and alerts: which stories a watch matched, the alerts raised (once per watch and
    // story, follow-ups once per size) and their deliveries (the outbox).
    r#"
    CREATE TABLE watch_matches (
        cluster_id INTEGER NOT NULL REFERENCES clusters(id),
        watch      TEXT NOT NULL,
        item_id    INTEGER NOT NULL REFERENCES items(id),  -- the first member that matched
        matched    TEXT NOT NULL,                          -- JSON array of the query's terms found
        created    INTEGER NOT NULL,
        PRIMARY KEY (cluster_id, watch)
    ) WITHOUT ROWID;

    CREATE TABLE alerts (
        id         INTEGER PRIMARY KEY,
        watch      TEXT NOT NULL,
        cluster_id INTEGER NOT NULL REFERENCES clusters(id),
        kind       TEXT NOT NULL CHECK (kind IN ('new','follow-up','digest')),
        threshold  INTEGER NOT NULL,          -- 0 for `new`; the story size for a follow-up
        sources    INTEGER NOT NULL,          -- feeds carrying the story when it was raised
        title      TEXT NOT NULL,
        url        TEXT,
        matched    TEXT NOT NULL,             -- JSON array
        created    INTEGER NOT NULL,
        UNIQUE (watch, cluster_id, kind, threshold)
    );
    CREATE INDEX alerts_by_cluster ON alerts(cluster_id);

    CREATE TABLE deliveries (
        alert_id      INTEGER NOT NULL REFERENCES alerts(id),
        sink          TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','failed')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        first_attempt INTEGER,
        next_attempt  INTEGER NOT NULL,
        last_error    TEXT,
        delivered     INTEGER,
        PRIMARY KEY (alert_id, sink)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_due ON deliveries(status, next_attempt);
    "#,
    // 3: a watch's rate cap: alerts over it are held and go out together as one digest.
    r#"
    ALTER TABLE alerts ADD COLUMN digest_at INTEGER;   -- set: held for the digest sent then
    "#,
    // 4: full-text search over items' titles and text (`feedfold search`, `clusters --query`).
    // External content: the text lives once, in `items`; triggers keep the index in step with
    // every insert, edit and prune, inside the same transaction.
    r#"
    CREATE VIRTUAL TABLE items_fts USING fts5(
        title, text,
        content = 'items', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    END;
    CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN
        INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END;
    INSERT INTO items_fts(items_fts) VALUES ('rebuild');
    "#,
    // 5: the ingest indexes new and edited items itself, at the end of its transaction (FTS5
    // flushes at every statement savepoint: per-row triggers made ingest 3x slower). The
    // delete trigger stays: pruning deletes in a few large statements.
    r#"
    DROP TRIGGER items_fts_insert;
    DROP TRIGGER items_fts_update;
    INSERT INTO items_fts (items_fts, rank) VALUES ('automerge', 8);
    "#,
    // 6: story ids are never reused (AUTOINCREMENT). Without it a new story took the id of the
    // newest story when that one had just been folded into another, re-clustered away or
    // pruned: links, alerts and the running deduplicator's record of folded stories then
    // named the wrong story. SQLite's table-rebuild procedure (the migration runs with foreign
    // key enforcement off and checks the keys before it commits).
    r#"
    CREATE TABLE clusters_new (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        representative INTEGER,
        size           INTEGER NOT NULL DEFAULT 0,
        first_ts       INTEGER NOT NULL,
        last_ts        INTEGER NOT NULL,
        created        INTEGER NOT NULL
    );
    INSERT INTO clusters_new (id, representative, size, first_ts, last_ts, created)
        SELECT id, representative, size, first_ts, last_ts, created FROM clusters;
    DROP TABLE clusters;
    ALTER TABLE clusters_new RENAME TO clusters;
    CREATE INDEX clusters_by_last_ts ON clusters(last_ts);
    "#,
    // 7: the feed's own title, as its document last gave it: what names a feed that the config
    // (or the OPML file it came from) gives no name. The validators and body hashes are
    // forgotten, so that the next fetch of each feed gets its document and parses it, changed or
    // not (its items are known and stay as they are), and records the title: one request
    // without `If-None-Match` per feed, once.
    r#"
    ALTER TABLE feeds ADD COLUMN title TEXT;
    UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL;
    "#,
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
