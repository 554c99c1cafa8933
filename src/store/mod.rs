//! The store: one SQLite file in WAL mode. Opening runs the migrations; [`write`] holds the ingest
//! path (one `BEGIN IMMEDIATE` transaction per fetched feed) and [`read`] the queries of the CLI.
//!
//! Every write transaction is `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes
//! fails at once with "database is locked" when another connection wrote meanwhile, whatever the
//! busy timeout. Only one fetching process writes at a time ([`FetchLock`]).

pub mod alerts;
pub mod read;
pub mod recluster;
pub mod retention;
mod schema;
pub mod search;
pub mod write;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use schema::SCHEMA_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "store {path} has schema version {found}, newer than this feedfold understands ({supported}); upgrade feedfold or use another --db"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot create the folder of store {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store {path} does not exist yet; run `feedfold run --once` to create it")]
    Missing { path: PathBuf },
    #[error(
        "another feedfold process is already fetching into {path} (lock file {lock}); stop it or use another --db"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot create lock file {lock}: {source}")]
    LockIo {
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "store {path} is damaged ({detail}); nothing was written to it. Restore a backup (`feedfold backup` makes one) or move the file aside to start afresh"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("{target} exists already; give a new file name (a backup never overwrites)")]
    BackupExists { target: PathBuf },
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
}

/// How long a command waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens the store for the one writer, leaving checkpoints to a [`Checkpointer`] (the
    /// writer checkpoints by itself only past a much larger WAL).
    pub fn open_writer(path: &Path) -> Result<Store> {
        // An existing file is checked before anything is written to it (a migration, a feed).
        let existed = path.metadata().is_ok_and(|m| m.len() > 0);
        let store = Store::open_checked(path, existed)?;
        store
            .conn
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES};"
            ))
            .map_err(|e| store.err(e))?;
        Ok(store)
    }

    /// Opens (creating if needed) the store at `path` for writing, and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_checked(path, false)
    }

    fn open_checked(path: &Path, quick_check: bool) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        Store::configured(path, Connection::open(path), quick_check)
    }

    /// Opens an existing store for the query commands; never creates one. Migrates it if it is
    /// older (queries need the current schema).
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Store::configured(path, Connection::open_with_flags(path, flags), false)
    }

    /// The store on a freshly opened connection: pragmas set, checked ([`Store::quick_check`])
    /// if asked, schema migrated. A file that is not a database, or a damaged one, is
    /// [`StoreError::Corrupt`].
    fn configured(
        path: &Path,
        conn: rusqlite::Result<Connection>,
        quick_check: bool,
    ) -> Result<Store> {
        let corrupt = |e: StoreError| match e {
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(f, detail),
                path,
            } if matches!(
                f.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
            {
                StoreError::Corrupt {
                    path,
                    detail: detail.unwrap_or_else(|| f.to_string()),
                }
            }
            other => other,
        };
        let conn = conn.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.configure().map_err(corrupt)?;
        if quick_check {
            store.quick_check().map_err(corrupt)?;
        }
        store.migrate().map_err(corrupt)?;
        Ok(store)
    }

    /// `PRAGMA quick_check` table by table, virtual tables left out: every b-tree of the file is
    /// checked, but not the search index's agreement with the items (SQLite 3.44 added that to
    /// a plain `quick_check`; it costs seconds per 100,000 items at every start, and an index that
    /// disagrees is no damaged file).
    fn quick_check(&self) -> Result<()> {
        let tables: Vec<String> = self
            .conn
            .prepare(
                "SELECT name FROM sqlite_schema
                 WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(|e| self.err(e))?;
        for table in tables {
            let result: String = self
                .conn
                .query_row(
                    &format!("PRAGMA quick_check(\"{}\")", table.replace('"', "\"\"")),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            if result != "ok" {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: format!("quick_check: {}", result.lines().next().unwrap_or("")),
                });
            }
        }
        Ok(())
    }

    /// A consistent copy of the store at `target` (`VACUUM INTO`: one read transaction, so the
    /// daemon may keep writing meanwhile). Refuses to overwrite an existing file.
    pub fn backup(&self, target: &Path) -> Result<()> {
        if target.exists() {
            return Err(StoreError::BackupExists {
                target: target.to_path_buf(),
            });
        }
        self.conn
            .execute("VACUUM INTO ?1", [target.to_string_lossy()])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.err(e))?;
        // WAL: readers (the CLI) never block the writer (the daemon). NORMAL sync: a power loss
        // can lose the last commits but never corrupts the file.
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        if version > 0 {
            self.backup_before_upgrade(version)?;
        }
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // A migration may rebuild a table that others reference (SQLite's table-rebuild
        // procedure): enforcement is off while it runs (it can only change outside a
        // transaction), the keys are checked before the commit, and it is on again after.
        self.conn
            .execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(err)?;
        let migrated = self.run_migrations();
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .map_err(err)?;
        migrated
    }

    fn run_migrations(&mut self) -> Result<()> {
        let path = self.path.clone();
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // All pending migrations in one transaction: a kill half-way leaves the old version.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // Another process may have migrated while this one waited for the lock.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        for (n, migration) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .skip(version.max(0) as usize)
        {
            tx.execute_batch(migration).map_err(err)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", n + 1))
                .map_err(err)?;
        }
        let broken_key: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
            .optional()
            .map_err(err)?;
        if let Some(table) = broken_key {
            return Err(StoreError::Sqlite {
                path: self.path.clone(),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "the upgrade left a reference in {table} to a row that does not exist; \
                         nothing was changed"
                    )),
                ),
            });
        }
        tx.commit().map_err(err)
    }

    /// Before a store written by an older version is upgraded, a copy of it as it was is kept
    /// beside it (`feedfold.db.v3.bak`): a way back if the new version must be rolled back.
    /// An existing copy (an earlier, interrupted upgrade) is kept as it is.
    fn backup_before_upgrade(&self, version: i64) -> Result<()> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".v{version}.bak"));
        let target = self.path.with_file_name(name);
        if target.exists() {
            return Ok(());
        }
        tracing::info!(
            "upgrading the store {} from schema {version} to {SCHEMA_VERSION}; its old version is kept as {}",
            self.path.display(),
            target.display()
        );
        match self.backup(&target) {
            // Another process upgrading the same store made the copy meanwhile.
            Err(_) if target.exists() => Ok(()),
            result => result,
        }
    }

    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    pub fn integrity_check(&self) -> Result<String> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The id of the feed configured with `url`, if the store knows it.
    pub fn feed_id(&self, url: &str) -> Result<Option<i64>> {
        self.conn
            .query_row("SELECT id FROM feeds WHERE url = ?1", [url], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }
}

/// Copies the WAL back into the database from a thread of its own, so that the writer never
/// waits on the fsyncs of a checkpoint (they took 40 % of the writer's time when it did them
/// itself). The writer's own automatic checkpoint stays as a backstop at a larger WAL size.
pub struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Pages of WAL after which the writer checkpoints by itself (the checkpointer normally has).
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 16_000;
/// How often the checkpointer runs.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|source| StoreError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("feedfold-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    // PASSIVE: copies what it can without blocking the writer or readers.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(store = %path.display(), error = %e, "checkpoint failed; the writer will checkpoint itself");
                    }
                }
            })
            .expect("spawn the checkpoint thread");
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An exclusive lock on `<store>.lock`, held by the one process that fetches into a store.
/// The OS releases it when the process dies, so a `kill -9` leaves no stale lock.
pub struct FetchLock {
    _file: File,
}

impl FetchLock {
    pub fn acquire(store_path: &Path) -> Result<FetchLock> {
        let mut lock = store_path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        if let Some(parent) = lock.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::LockIo {
                lock: lock.clone(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(|source| StoreError::LockIo {
                lock: lock.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(FetchLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
                path: store_path.to_path_buf(),
                lock,
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::LockIo { lock, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_store_upgrades_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "INSERT INTO feeds (url, url_in_use, origin, active, created)
                   VALUES ('https://a.example/feed', 'https://a.example/feed', 'config', 1, 0);
                 INSERT INTO clusters (id, representative, size, first_ts, last_ts, created)
                   VALUES (1, 1, 1, 100, 100, 100);
                 INSERT INTO items (id, guid, title, text, fetched, ts, first_feed, cluster_id,
                                    rule, simhash, fp_version)
                   VALUES (1, 'g1', 'Volcano erupts in Iceland', 'Lava flows', 100, 100, 1, 1,
                           'new', 0, 1);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.feed_statuses().unwrap().len(), 1);
        // The items stored before the search index existed are in it.
        let found: i64 = store
            .conn
            .query_row(
                "SELECT rowid FROM items_fts WHERE items_fts MATCH 'volcano'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1);
        // The store as it was is kept beside it.
        let old = Connection::open(dir.path().join("v1.db.v1.bak")).unwrap();
        let old_version: i64 = old
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(old_version, 1);
        let alerts: i64 = store
            .conn
            .query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(alerts, 0);
        // The story table was rebuilt under the items that reference it: the keys hold, and
        // are enforced again.
        let cluster_of_item: i64 = store
            .conn
            .query_row("SELECT cluster_id FROM items WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(cluster_of_item, 1);
        let enforced: i64 = store
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(enforced, 1);
        assert!(
            store
                .conn
                .execute("DELETE FROM clusters WHERE id = 1", [])
                .is_err(),
            "a story with items cannot go"
        );
    }

    #[test]
    fn story_ids_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let new_story = || -> i64 {
            store
                .conn
                .execute(
                    "INSERT INTO clusters (size, first_ts, last_ts, created) VALUES (0, 0, 0, 0)",
                    [],
                )
                .unwrap();
            store.conn.last_insert_rowid()
        };
        assert_eq!((new_story(), new_story()), (1, 2));
        // The newest story goes (folded into another, re-clustered away, pruned): its id is
        // not given again.
        store
            .conn
            .execute("DELETE FROM clusters WHERE id = 2", [])
            .unwrap();
        assert_eq!(new_story(), 3);
    }

    #[test]
    fn migrates_once_and_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        store
            .conn
            .execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .unwrap();
        drop(store);
        let err = Store::open(&path).err().expect("newer schema refused");
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }

    #[test]
    fn second_fetch_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let first = FetchLock::acquire(&path).unwrap();
        assert!(matches!(
            FetchLock::acquire(&path),
            Err(StoreError::Locked { .. })
        ));
        drop(first);
        FetchLock::acquire(&path).unwrap();
    }

    #[test]
    fn query_commands_do_not_create_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.db");
        assert!(matches!(
            Store::open_existing(&path),
            Err(StoreError::Missing { .. })
        ));
        assert!(!path.exists());
    }
}
