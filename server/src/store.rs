//! The durable event log: SQLite in WAL mode with `synchronous = FULL`, so a transaction is on
//! disk when it commits; the ingest writer's connection instead commits without waiting and has
//! its commits synced apart ([`Store::defer_sync`]). Either way nothing is acknowledged before it
//! is on disk.
//!
//! Table `events` holds every accepted event once: a global sequence `gseq`, the per-topic
//! sequence `tseq` its theme stream gives it, `(source, id)` unique (a re-sent event is reported as
//! a duplicate with its original place), the entity and county it concerns, the event time as the
//! source wrote it (`time`) and as an instant (`at`, nanoseconds since the epoch, UTC: what
//! ordering and ranges use), and the event as JSON (`body`): the line exactly as received when it
//! came as one (whose source may be left out: the `source` column has it), else its own JSON.
//! `meta` keeps the stream epoch, which therefore survives restarts: a client that resumes after
//! a server restart gets exactly the deltas it missed. `tokens` keeps the SHA-256 of each
//! ingest token with its source.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use yiping_protocol::events::Envelope;
use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::OVERVIEW;

/// The database file name inside the data folder.
pub const DB_FILE: &str = "yiping.db";

/// The page size of a new log, bytes: 16 KiB rather than SQLite's 4 KiB. The writer inserts each
/// event into the table and its indexes, and its cost goes by the pages it touches, balances and
/// writes to the write-ahead log; with larger pages there are fewer of them. Measured on the
/// writer alone (a scratch program on this schema, 1,000 events per transaction): new patrols
/// 3.1–3.7 µs per event against 4.5–6.3 at 240,000 events, 3.9 against 4.7 at 2.4 million;
/// readings of 5,000 stations 8.6–9.5 against 9.6–9.9 at 240,000, but 26.2 against 23.1 at 2.4
/// million (an insert at a random place in a large index writes a whole page, and a larger one).
/// A log made before keeps its page size: SQLite changes it only by rewriting the whole file.
pub const PAGE_BYTES: u32 = 16_384;

/// Set a new log's page size ([`PAGE_BYTES`]) on a connection that has just opened the file:
/// whichever opens it first (the log, or the audit trail, which shares the file), before it
/// switches to the write-ahead log. On a log that exists SQLite ignores it.
pub(crate) fn new_log_pages(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("PRAGMA page_size = {PAGE_BYTES};"))
}

/// Bytes the write-ahead log may hold before a commit copies it into the database itself
/// ([`Store::checkpoint_wal`] usually has by then): 10,000 pages of 4 KiB.
pub const WAL_CAP_BYTES: u32 = 40_960_000;

/// Set how far a connection that writes lets the write-ahead log grow: its commits copy the log
/// into the database only at [`WAL_CAP_BYTES`] (the checkpoint thread usually has), and the
/// file is cut back to 64 MiB when the log starts over.
pub(crate) fn wal_limits(conn: &Connection) -> rusqlite::Result<()> {
    let page: u32 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = {}; PRAGMA journal_size_limit = {};",
        WAL_CAP_BYTES / page.max(512),
        64 << 20
    ))
}

/// A connection to the SQLite file at `path` beside the first one ([`Store::open_side`], the
/// index file's [`crate::logindex::Indexer`]): it waits up to 5 s for another's write lock, and
/// caches up to `cache_kib` KiB of pages.
pub(crate) fn connect(path: &Path, cache_kib: u32) -> Result<Connection, StoreError> {
    let e = |source| StoreError::Sqlite { path: path.display().to_string(), source };
    let conn = Connection::open(path).map_err(e)?;
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -{cache_kib};
         PRAGMA temp_store = MEMORY;"
    ))
    .map_err(e)?;
    Ok(conn)
}

/// An event ready to append: parsed, checked, placed in its county.
#[derive(Debug, Clone)]
pub struct Located {
    /// The event (its `source` filled in).
    pub event: Envelope,
    /// The county it concerns.
    pub adcode: String,
    /// The line the source sent, when the event came as one: the log keeps it as received
    /// (its source may be left out: the log's `source` column has it). `None`: the log writes
    /// the event's JSON.
    pub line: Option<Box<str>>,
}

impl Located {
    /// An event that did not come as a line of its own.
    pub fn new(event: Envelope, adcode: String) -> Located {
        Located { event, adcode, line: None }
    }
}

/// The columns an event is read back from.
struct Row {
    gseq: i64,
    topic: String,
    tseq: i64,
    adcode: String,
    received: String,
    body: String,
    source: String,
}

/// The columns of a [`Keyed`] read: [`Row`]'s, then those of its order.
const KEYED_COLS: &str = "gseq, topic, tseq, adcode, received, body, source, at, id";

/// The order of the reads by event time: `(at, source, id)`.
type Key = (i64, String, String);

/// A read by event time ([`Store::merged`]): which events, through which index, in which order.
/// Its conditions use the same parameters.
struct Keyed<'a> {
    /// The condition on a row of the log (`events`).
    tail: &'a str,
    /// The table of the index file to read through (`by_time`, `by_entity`) ...
    index_table: &'a str,
    /// ... and the condition on its entries (named `k`).
    index: &'a str,
    /// Newest first, else oldest first.
    newest_first: bool,
    /// At most this many.
    limit: Option<u32>,
}

/// A batch to append ([`Store::append_parts`]).
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// The events.
    pub events: &'a [Located],
    /// When they were received (RFC 3339).
    pub received: &'a str,
    /// From the log stream: (the events message it follows, its own); `None`: received here.
    pub stream: Option<(u64, u64)>,
}

/// Where an appended event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Newly stored with these sequence numbers.
    New {
        /// Global sequence.
        gseq: u64,
        /// Sequence in its theme topic: that of the delta that carries it. The new events of
        /// one topic in one batch ([`Part`]) share one: a batch is sent as one delta per topic.
        tseq: u64,
    },
    /// Already stored earlier (same source and id) at this global sequence.
    Duplicate {
        /// Where the first copy is.
        gseq: u64,
    },
}

/// The write-ahead log's file, synced apart from the commits that write it
/// ([`Store::defer_sync`]). The file is the same for as long as the log is open (SQLite cuts it
/// back, never replaces it, while a connection is open).
#[derive(Debug)]
pub struct WalSync {
    file: std::fs::File,
    path: PathBuf,
}

impl WalSync {
    /// Wait until everything written to the log so far is on disk (`fdatasync`).
    ///
    /// # Errors
    /// The disk failed. Whether the writes it had are on disk is then unknown, and asking again
    /// does not tell (the kernel reports a failed writeback once): the caller must not
    /// acknowledge them.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.file
            .sync_data()
            .map_err(|source| StoreError::Io { path: self.path.display().to_string(), source })
    }
}

/// A stored event read back.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Global sequence.
    pub gseq: u64,
    /// Theme topic.
    pub topic: String,
    /// Sequence in the theme topic: that of the delta that carried it (shared by its batch's
    /// events of the topic).
    pub tseq: u64,
    /// County.
    pub adcode: String,
    /// When the server accepted it, UTC RFC 3339.
    pub received: String,
    /// The event.
    pub event: Envelope,
}

/// An entry of the log as [`Store::replay_with_voids`] visits it.
#[derive(Debug)]
// Handed to a callback one at a time, never stored: boxing would cost each event an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Replayed {
    /// An event.
    Event(StoredEvent),
    /// A void one (set aside when the log was upgraded): its topic and seq.
    Void {
        /// Theme topic.
        topic: String,
        /// Sequence in the theme topic.
        tseq: u64,
    },
}

/// A saved snapshot: the gseq it covers, the topic positions then, the fold's state as JSON.
pub type Snapshot = (u64, HashMap<String, u64>, String);

/// The event log.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    epoch: String,
    last_gseq: u64,
    topic_seq: HashMap<String, u64>,
    /// Whether the log's index file ([`crate::logindex`]) is attached (as `ix`): reads by event
    /// time or entity go through it for the events it holds. The writer's connection
    /// ([`Store::open`]) does not attach it (its write transactions would take the index file's
    /// lock too): its reads scan the log.
    indexed: bool,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("event log {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A stored event cannot be read back.
    #[error("event log {path}: event {gseq} is unreadable: {message}")]
    Corrupt {
        /// The database file.
        path: String,
        /// Which event.
        gseq: u64,
        /// What is wrong.
        message: String,
    },
    /// A file of the log cannot be opened or synced (or the log cannot be synced apart from its
    /// commits, see [`Store::defer_sync`]).
    #[error("event log {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Events from the log stream do not follow what this log has applied.
    #[error(
        "event log {path}: stream message {seq} follows message {after}, but this log has applied up to {applied}"
    )]
    OutOfOrder {
        /// The database file.
        path: String,
        /// The first message of the batch.
        seq: u64,
        /// The message it follows.
        after: u64,
        /// The last message this log applied.
        applied: u64,
    },
}

fn to_u64(x: i64) -> u64 {
    u64::try_from(x).unwrap_or(0)
}

fn to_i64(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// A new ingest token: `yp_` and 256 random bits in hex.
pub fn new_token() -> String {
    format!("yp_{}", (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect::<String>())
}

/// A token's SHA-256 in hex: the only form of it that is kept.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Logs written before event times were stored as instants get the `at` column, filled from
/// each stored event's time. The time checks are stricter than they were: a stored event whose
/// time (or date) is not a real one, or is far in the future, is set aside as void with the
/// reason (it stays in the log, and keeps its place in its topic's sequence, but no longer
/// counts). Done once; `meta` records it.
fn migrate_event_instants(conn: &Connection) -> rusqlite::Result<()> {
    let done: bool = conn.prepare("SELECT 1 FROM meta WHERE key = 'instants'")?.exists([])?;
    if done {
        return Ok(());
    }
    let has = |col: &str| -> rusqlite::Result<bool> {
        conn.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = ?1")?.exists([col])
    };
    if !has("at")? {
        conn.execute_batch("ALTER TABLE events ADD COLUMN at INTEGER NOT NULL DEFAULT 0")?;
    }
    if !has("void")? {
        conn.execute_batch("ALTER TABLE events ADD COLUMN void TEXT")?;
    }
    let rows: Vec<(i64, String)> = conn
        .prepare("SELECT gseq, body FROM events")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let latest = Timestamp::now().plus_s(crate::FUTURE_TOLERANCE_S);
    let tx = conn.unchecked_transaction()?;
    let mut voided = 0;
    {
        let mut up = tx.prepare("UPDATE events SET at = ?1, void = ?2 WHERE gseq = ?3")?;
        for (gseq, body) in &rows {
            let (at, void) = match yiping_protocol::events::parse_line(body) {
                Ok(e) if e.time.at > latest => (
                    e.time.at.unix_ns(),
                    Some(format!("time {}: far in the future when the log was upgraded", e.time)),
                ),
                Ok(e) => (e.time.at.unix_ns(), None),
                Err(err) => (0, Some(err.to_string())),
            };
            voided += usize::from(void.is_some());
            up.execute(params![at, void, gseq])?;
        }
    }
    tx.execute("INSERT INTO meta (key, value) VALUES ('instants', '1')", [])?;
    tx.commit()?;
    if voided > 0 {
        tracing::warn!(
            voided,
            "event log upgraded: events whose time is not a real one are set aside as void"
        );
    }
    Ok(())
}

impl Store {
    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.display().to_string(), source }
    }

    /// Open (or create) the log in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE);
        let e = |source| StoreError::Sqlite { path: path.display().to_string(), source };
        let conn = Connection::open(&path).map_err(e)?;
        new_log_pages(&conn).map_err(e)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events (
                 gseq INTEGER PRIMARY KEY,
                 source TEXT NOT NULL,
                 id TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 topic TEXT NOT NULL,
                 tseq INTEGER NOT NULL,
                 entity TEXT NOT NULL,
                 adcode TEXT NOT NULL,
                 time TEXT NOT NULL,
                 received TEXT NOT NULL,
                 body TEXT NOT NULL,
                 at INTEGER NOT NULL DEFAULT 0,
                 void TEXT,
                 UNIQUE (source, id)
             );
             CREATE TABLE IF NOT EXISTS snapshots (
                 gseq INTEGER PRIMARY KEY,
                 taken TEXT NOT NULL,
                 topic_seqs TEXT NOT NULL,
                 body TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS checkpoints (
                 at INTEGER PRIMARY KEY,
                 gseq INTEGER NOT NULL,
                 body BLOB NOT NULL
             );
             CREATE TABLE IF NOT EXISTS days (
                 at INTEGER PRIMARY KEY,
                 body TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS tokens (
                 hash TEXT PRIMARY KEY,
                 source TEXT NOT NULL,
                 created TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS source_limits (
                 source TEXT PRIMARY KEY,
                 rate REAL NOT NULL
             );",
        )
        .map_err(e)?;
        wal_limits(&conn).map_err(e)?;
        // Tokens end (revoked, or rotated out after a grace period) at `expires` (unix s).
        let has_expires = conn
            .prepare("SELECT 1 FROM pragma_table_info('tokens') WHERE name = 'expires'")
            .and_then(|mut q| q.exists([]))
            .map_err(e)?;
        if !has_expires {
            conn.execute_batch("ALTER TABLE tokens ADD COLUMN expires INTEGER").map_err(e)?;
        }
        migrate_event_instants(&conn).map_err(e)?;
        // The indexes by event time and by entity are kept apart ([`crate::logindex`]): a log
        // from before loses those it had in its table.
        conn.execute_batch(
            "DROP INDEX IF EXISTS events_entity;
             DROP INDEX IF EXISTS events_entity_at;
             DROP INDEX IF EXISTS events_at;",
        )
        .map_err(e)?;
        let epoch: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))
            .optional()
            .map_err(e)?;
        let epoch = match epoch {
            Some(ep) => ep,
            None => {
                let ep = format!(
                    "{:x}-{:04x}",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000,
                    rand::random::<u16>()
                );
                conn.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?1)", [&ep]).map_err(e)?;
                ep
            }
        };
        let last_gseq: i64 =
            conn.query_row("SELECT COALESCE(MAX(gseq), 0) FROM events", [], |r| r.get(0)).map_err(e)?;
        let mut topic_seq = HashMap::new();
        {
            let mut st = conn.prepare("SELECT topic, MAX(tseq) FROM events GROUP BY topic").map_err(e)?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(e)?;
            for row in rows {
                let (t, s) = row.map_err(e)?;
                topic_seq.insert(t, to_u64(s));
            }
        }
        // Retention may have removed events a snapshot covers: the snapshot's positions count too.
        let snap: Option<(i64, String)> = conn
            .query_row("SELECT gseq, topic_seqs FROM snapshots ORDER BY gseq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(e)?;
        let mut last_gseq = to_u64(last_gseq);
        if let Some((g, seqs)) = snap {
            last_gseq = last_gseq.max(to_u64(g));
            let seqs: HashMap<String, u64> =
                serde_json::from_str(&seqs).map_err(|err| StoreError::Corrupt {
                    path: path.display().to_string(),
                    gseq: to_u64(g),
                    message: format!("snapshot positions: {err}"),
                })?;
            for (t, s) in seqs {
                let cur = topic_seq.entry(t).or_insert(0);
                *cur = (*cur).max(s);
            }
        }
        topic_seq.insert(OVERVIEW.to_owned(), last_gseq);
        Ok(Store { conn, path, epoch, last_gseq, topic_seq, indexed: false })
    }

    /// Open a second connection to a log that [`Store::open`] has already set up, for reading,
    /// checkpoints, snapshots and retention (never events): no schema work and no count of the
    /// topics' positions (which scans the whole log), so its [`Store::last_gseq`] and
    /// [`Store::topic_seqs`] are empty. Its commits leave the write-ahead log to the checkpoint
    /// thread as the writer's do ([`wal_limits`]). It reads by event time and entity through the
    /// log's index file ([`crate::logindex`], attached, and made empty if it is not there); when
    /// that file cannot be opened it warns and scans the log instead.
    pub fn open_side(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DB_FILE);
        let conn = connect(&path, 16_384)?;
        let e = |source| StoreError::Sqlite { path: path.display().to_string(), source };
        wal_limits(&conn).map_err(e)?;
        let indexed = crate::logindex::attach(&conn, &path)
            .map_err(|err| tracing::warn!("the log's index file cannot be read ({err}): reads scan the log"))
            .is_ok();
        Ok(Store { conn, path, epoch: String::new(), last_gseq: 0, topic_seq: HashMap::new(), indexed })
    }

    /// Copy the write-ahead log's committed pages into the database without waiting for any
    /// writer or reader (SQLite's passive checkpoint). The ingest writer has this done on
    /// another thread after its commits ([`crate::ingest`]); its own connection copies them only
    /// once the log holds [`WAL_CAP_BYTES`] (then few are left to copy), which bounds the
    /// log under any load. Returns the pages in the log and those copied so far.
    pub fn checkpoint_wal(&self) -> Result<(i64, i64), StoreError> {
        self.conn
            .query_row("PRAGMA main.wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))
    }

    /// Commit without waiting for the disk, which the returned [`WalSync`] is then asked to
    /// wait for: this connection's commits return once SQLite has written them to the
    /// write-ahead log (`synchronous = NORMAL`), and are on disk once a [`WalSync::sync`] begun
    /// after them has returned. So the ingest writer goes on with its next transaction while
    /// the disk takes the last one, and its events are folded and acknowledged only after the
    /// sync (see `ingest`). What a crash loses is then commits nobody was told of: SQLite's
    /// write-ahead log keeps the transactions it recovers whole and in order (a torn tail is
    /// cut at the first frame whose checksum fails), and a checkpoint syncs the log before it
    /// copies it into the database, whichever connection runs it.
    ///
    /// Other connections read a commit from its return, before its sync (with `FULL`, SQLite
    /// shows a commit only once it is on disk): an entity's history or a time-travel read may
    /// include events for the few milliseconds before they are folded and acknowledged, which
    /// a power cut would take back (never acknowledged, they are sent again by their source).
    pub fn defer_sync(&self) -> Result<WalSync, StoreError> {
        // Only a write-ahead log may commit so (`open` asks for one, and SQLite does not say when
        // it cannot switch); its file exists from the first read (`open` has read).
        let mode: String =
            self.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Io {
                path: self.path.display().to_string(),
                source: std::io::Error::other(format!(
                    "journal mode {mode}, not wal: commits wait for the disk"
                )),
            });
        }
        let wal = self.path.with_file_name(format!("{DB_FILE}-wal"));
        let file = std::fs::File::open(&wal)
            .map_err(|source| StoreError::Io { path: wal.display().to_string(), source })?;
        self.conn.execute_batch("PRAGMA synchronous = NORMAL").map_err(|e| self.err(e))?;
        Ok(WalSync { file, path: wal })
    }

    /// The data folder the log is in.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The newest global sequence in the log, read now.
    pub fn max_gseq(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(gseq), 0) FROM events", [], |r| r.get::<_, i64>(0))
            .map(to_u64)
            .map_err(|e| self.err(e))
    }

    /// Check that this log was kept for the same root region and that every monitoring section
    /// it has known is still known (a section may be renamed or moved, never dropped: its
    /// readings are in the log), then record both. A log from before the root was recorded is
    /// the province's.
    pub fn claim_places(&self, places: &crate::places::Places) -> Result<(), String> {
        self.places_meta(places, true)
    }

    /// [`Store::claim_places`]'s checks alone, recording nothing (`yiping audit` reads).
    pub fn check_places(&self, places: &crate::places::Places) -> Result<(), String> {
        self.places_meta(places, false)
    }

    fn places_meta(&self, places: &crate::places::Places, record: bool) -> Result<(), String> {
        let root = places.root();
        let sections: Vec<&str> = places.sections().iter().map(|s| s.id.as_str()).collect();
        let get = |key: &str| -> Result<Option<String>, String> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(|e| self.err(e).to_string())
        };
        // A log with no events may still hold a snapshot (retention deleted what it covers).
        let snapshots: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM snapshots", [], |r| r.get(0))
            .map_err(|e| self.err(e).to_string())?;
        let empty = self.max_gseq().map_err(|e| e.to_string())? == 0 && snapshots == 0;
        // A log from before the root and the sections were recorded is the province's, with the
        // built-in sections.
        let kept_root = get("root_region")?.or_else(|| (!empty).then(|| crate::places::ROOT.to_owned()));
        if let Some(kept) = kept_root.filter(|k| k != root) {
            return Err(format!(
                "{}: this data folder holds the log of root region {kept}, not {root}: give this \
                 deployment its own data folder",
                self.path.display()
            ));
        }
        let kept_sections: Vec<String> = match get("sections")? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| format!("{}: meta sections: {e}", self.path.display()))?,
            None if empty => Vec::new(),
            None => crate::stations::builtin().into_iter().map(|s| s.id).collect(),
        };
        let missing: Vec<&str> =
            kept_sections.iter().map(String::as_str).filter(|k| !sections.contains(k)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "{}: the log knows monitoring sections that this configuration does not: {}; keep \
                 them in [[sections]] (a section may be renamed or moved, not dropped: the log may \
                 hold readings of it)",
                self.path.display(),
                missing.join(", ")
            ));
        }
        let mut all: Vec<&str> =
            kept_sections.iter().map(String::as_str).chain(sections.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        let put = |key: &str, value: &str| {
            self.conn
                .execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", [key, value])
                .map(|_| ())
                .map_err(|e| self.err(e).to_string())
        };
        if !record {
            return Ok(());
        }
        put("root_region", root)?;
        put("sections", &serde_json::to_string(&all).expect("ids serialise"))
    }

    /// The log stream this log copies and how far it has been applied ([`crate::cluster`]):
    /// `None` for a log of its own (no `nats` configured when it began).
    pub fn stream_position(&self) -> Result<Option<(String, u64)>, StoreError> {
        let get = |key: &str| {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get::<_, String>(0))
                .optional()
                .map_err(|e| self.err(e))
        };
        let Some(stream) = get("stream")? else { return Ok(None) };
        let seq = get("stream_seq")?.and_then(|s| s.parse().ok()).unwrap_or(0);
        Ok(Some((stream, seq)))
    }

    /// Make this log a copy of the log stream whose epoch is `epoch`: a new, empty log takes the
    /// stream's epoch (so every node's topic streams have the same); a log that copies it
    /// already goes on; any other log is refused with the reason.
    pub fn join_stream(&mut self, epoch: &str) -> Result<(), String> {
        match self.stream_position().map_err(|e| e.to_string())? {
            Some((stream, _)) if stream == epoch => Ok(()),
            Some((stream, _)) => Err(format!(
                "this data folder copies the log stream of epoch {stream}, but the NATS server's \
                 stream is of epoch {epoch} (it was made again): start this node on an empty data folder"
            )),
            None if self.last_gseq == 0 => {
                let set = "INSERT INTO meta (key, value) VALUES (?1, ?2)
                           ON CONFLICT (key) DO UPDATE SET value = excluded.value";
                let tx = self.conn.transaction().map_err(|e| e.to_string())?;
                tx.execute(set, ["epoch", epoch]).map_err(|e| e.to_string())?;
                tx.execute(set, ["stream", epoch]).map_err(|e| e.to_string())?;
                tx.commit().map_err(|e| e.to_string())?;
                self.epoch = epoch.to_owned();
                Ok(())
            }
            None => Err(format!(
                "this data folder holds a log of its own ({} events, stored without NATS); a node \
                 whose log is the NATS stream starts on an empty data folder (export this log and \
                 publish it to the stream to carry it over)",
                self.last_gseq
            )),
        }
    }

    /// The stream epoch of this log.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The first global sequence still stored (`None` when the log is empty); above 1 once
    /// retention deleted events.
    pub fn first_gseq(&self) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row("SELECT MIN(gseq) FROM events", [], |r| r.get::<_, Option<i64>>(0))
            .map(|g| g.map(to_u64))
            .map_err(|e| self.err(e))
    }

    /// The last global sequence.
    pub fn last_gseq(&self) -> u64 {
        self.last_gseq
    }

    /// For each topic, the oldest seq among the newest `n` events after `after_gseq` (of every
    /// topic); empty when there are no more than `n` of them (none is left out). Start-up makes
    /// the resume window's deltas only of the batches after these: the batch of the oldest may
    /// have begun before the `n`.
    pub fn oldest_seqs_among_newest(
        &self,
        after_gseq: u64,
        n: usize,
    ) -> Result<HashMap<String, u64>, StoreError> {
        // Each new event takes the next gseq: a tail no longer than `n` needs no reading.
        if self.last_gseq.saturating_sub(after_gseq) <= n as u64 {
            return Ok(HashMap::new());
        }
        let e = |source| self.err(source);
        let mut st = self
            .conn
            .prepare("SELECT topic, tseq FROM events WHERE gseq > ?1 ORDER BY gseq DESC LIMIT ?2")
            .map_err(e)?;
        let limit = i64::try_from(n).unwrap_or(i64::MAX - 1) + 1;
        let mut rows = st.query(params![to_i64(after_gseq), limit]).map_err(e)?;
        let mut oldest = HashMap::new();
        let mut seen = 0;
        while let Some(r) = rows.next().map_err(e)? {
            if seen == n {
                return Ok(oldest);
            }
            seen += 1;
            let (topic, tseq): (String, i64) = (r.get(0).map_err(e)?, r.get(1).map_err(e)?);
            oldest.insert(topic, to_u64(tseq));
        }
        Ok(HashMap::new())
    }

    /// The last seq of each theme topic, and the global sequence under `overview`.
    pub fn topic_seqs(&self) -> &HashMap<String, u64> {
        &self.topic_seq
    }

    /// Append events in one transaction; returns where each landed. Nothing is changed when it
    /// fails.
    pub fn append(&mut self, batch: &[Located], received: &str) -> Result<Vec<Appended>, StoreError> {
        self.append_parts(&[Part { events: batch, received, stream: None }])
    }

    /// Append several batches in one transaction, in order. A batch from the log stream
    /// ([`crate::cluster`]) must follow the last message this log applied (else nothing is
    /// stored: a message would be missing), and the log notes its message in the same commit.
    /// Nothing is changed when it fails.
    pub fn append_parts(&mut self, parts: &[Part<'_>]) -> Result<Vec<Appended>, StoreError> {
        self.append_parts_with(parts, |_, _| Ok(()))
    }

    /// [`Store::append_parts`], and `also` writes more in the same transaction once the events
    /// are in (given where each landed): the ingest writer's audit entries. Nothing is changed
    /// when either fails.
    pub fn append_parts_with(
        &mut self,
        parts: &[Part<'_>],
        also: impl FnOnce(&Connection, &[Appended]) -> rusqlite::Result<()>,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut next_gseq = self.last_gseq;
        let mut next_topic = self.topic_seq.clone();
        let path = self.path.display().to_string();
        let sql = |source| StoreError::Sqlite { path: path.clone(), source };
        // Immediate: the write lock is taken (or waited for) first; a transaction that read
        // first could not take it once another connection (the trail's) had written meanwhile.
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
        let logged = parts.iter().any(|p| p.stream.is_some());
        let mut applied: u64 = if logged {
            tx.query_row("SELECT value FROM meta WHERE key = 'stream_seq'", [], |r| r.get::<_, String>(0))
                .optional()
                .map_err(sql)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        } else {
            0
        };
        for (after, seq) in parts.iter().filter_map(|p| p.stream) {
            if after != applied {
                return Err(StoreError::OutOfOrder { path: path.clone(), seq, after, applied });
            }
            applied = seq;
        }
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.events.len()).sum());
        let mut oldest = i64::MAX;
        {
            let mut find =
                tx.prepare_cached("SELECT gseq FROM events WHERE source = ?1 AND id = ?2").map_err(sql)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (gseq, source, id, kind, topic, tseq, entity, adcode, time, received, body, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (source, id) DO NOTHING",
                )
                .map_err(sql)?;
            // A batch's events of one topic go out as one delta ([`crate::fold::Changes`]): they
            // share its seq, the first new one's.
            let mut batch_seqs: Vec<(&'static str, u64)> = Vec::new();
            for part in parts {
                batch_seqs.clear();
                let received = part.received;
                for l in part.events {
                    let ev = &l.event;
                    let source = ev.source.as_deref().unwrap_or("");
                    let topic = ev.data.topic();
                    let shared = batch_seqs.iter().find(|(t, _)| *t == topic).map(|(_, s)| *s);
                    let tseq = shared.unwrap_or_else(|| next_topic.get(topic).copied().unwrap_or(0) + 1);
                    let json;
                    let body = match &l.line {
                        Some(line) => &**line,
                        None => {
                            json = serde_json::to_string(ev).expect("an envelope always serialises");
                            json.as_str()
                        }
                    };
                    // Insert unless (source, id) is already stored; only then look the first copy up.
                    let inserted = insert
                        .execute(params![
                            to_i64(next_gseq + 1),
                            source,
                            ev.id,
                            ev.kind,
                            topic,
                            to_i64(tseq),
                            ev.data.entity(),
                            l.adcode,
                            ev.time.text,
                            received,
                            body,
                            ev.time.at.unix_ns()
                        ])
                        .map_err(sql)?;
                    if inserted == 0 {
                        let g: i64 = find.query_row(params![source, ev.id], |r| r.get(0)).map_err(sql)?;
                        out.push(Appended::Duplicate { gseq: to_u64(g) });
                        continue;
                    }
                    next_gseq += 1;
                    if shared.is_none() {
                        batch_seqs.push((topic, tseq));
                        match next_topic.get_mut(topic) {
                            Some(seq) => *seq = tseq,
                            None => {
                                next_topic.insert(topic.to_owned(), tseq);
                            }
                        }
                    }
                    out.push(Appended::New { gseq: next_gseq, tseq });
                    oldest = oldest.min(ev.time.at.unix_ns());
                }
            }
            // Checkpoints after the oldest new event no longer hold every event before their
            // instant (a late or backfilled event): they go with the same commit.
            if oldest < i64::MAX {
                tx.prepare_cached("DELETE FROM checkpoints WHERE at > ?1")
                    .and_then(|mut st| st.execute([oldest]))
                    .map_err(sql)?;
                tx.prepare_cached("DELETE FROM days WHERE at > ?1")
                    .and_then(|mut st| st.execute([oldest]))
                    .map_err(sql)?;
            }
        }
        also(&tx, &out).map_err(sql)?;
        if logged {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('stream_seq', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [applied.to_string()],
            )
            .map_err(sql)?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        next_topic.insert(OVERVIEW.to_owned(), next_gseq);
        self.last_gseq = next_gseq;
        self.topic_seq = next_topic;
        Ok(out)
    }

    fn read_row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            gseq: r.get(0)?,
            topic: r.get(1)?,
            tseq: r.get(2)?,
            adcode: r.get(3)?,
            received: r.get(4)?,
            body: r.get(5)?,
            source: r.get(6)?,
        })
    }

    fn decode(&self, row: Row) -> Result<StoredEvent, StoreError> {
        let Row { gseq, topic, tseq, adcode, received, body, source } = row;
        let mut event = yiping_protocol::events::parse_line(&body).map_err(|e| StoreError::Corrupt {
            path: self.path.display().to_string(),
            gseq: to_u64(gseq),
            message: e.to_string(),
        })?;
        // A line kept as received may leave its source out; the column has it.
        if !source.is_empty() {
            event.source = Some(source);
        }
        Ok(StoredEvent { gseq: to_u64(gseq), topic, tseq: to_u64(tseq), adcode, received, event })
    }

    /// Visit every event after `after_gseq`, in order (void events are skipped).
    pub fn replay(&self, after_gseq: u64, mut f: impl FnMut(StoredEvent)) -> Result<u64, StoreError> {
        self.replay_with_voids(after_gseq, |r| {
            if let Replayed::Event(e) = r {
                f(e);
            }
        })
    }

    /// Visit every entry after `after_gseq`, in order: the events, and the topic and seq of each
    /// void one (set aside when the log was upgraded), so that topic positions stay aligned.
    /// Returns how many events (not void) were visited.
    pub fn replay_with_voids(&self, after_gseq: u64, mut f: impl FnMut(Replayed)) -> Result<u64, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT gseq, topic, tseq, adcode, received, body, source, void FROM events WHERE gseq > ?1 ORDER BY gseq",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query([to_i64(after_gseq)]).map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let void: Option<String> = r.get(7).map_err(|e| self.err(e))?;
            let row = self.read_row(r).map_err(|e| self.err(e))?;
            if void.is_some() {
                f(Replayed::Void { topic: row.topic, tseq: to_u64(row.tseq) });
                continue;
            }
            f(Replayed::Event(self.decode(row)?));
            n += 1;
        }
        Ok(n)
    }

    /// The newest `n` events of an entity (by event time, as instants) up to `until`, oldest first.
    pub fn history_latest(
        &self,
        entity: &str,
        n: u32,
        until: Timestamp,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        self.merged(
            &Keyed {
                tail: "entity = ?1 AND at <= ?2",
                index_table: "by_entity",
                index: "k.entity = ?1 AND k.at <= ?2",
                newest_first: true,
                limit: Some(n),
            },
            params![entity, until.unix_ns()],
            |e| {
                out.push(e);
                true
            },
        )?;
        out.reverse();
        Ok(out)
    }

    /// The events of one entity (`kind:id`) with event times from `from` to `to` (inclusive), in
    /// event-time order (a late report in its place), at most `limit`.
    pub fn history(
        &self,
        entity: &str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        self.merged(
            &Keyed {
                tail: "entity = ?1 AND at >= ?2 AND at <= ?3",
                index_table: "by_entity",
                index: "k.entity = ?1 AND k.at >= ?2 AND k.at <= ?3",
                newest_first: false,
                limit: Some(limit),
            },
            params![entity, from.unix_ns(), to.unix_ns()],
            |e| {
                out.push(e);
                true
            },
        )?;
        Ok(out)
    }

    /// Visit the events whose event time is in `[from, to]` (Unix ns, inclusive), in event-time
    /// order (then source and id), void ones skipped; `f` returns false to stop. Returns how many
    /// were visited.
    pub fn events_between(
        &self,
        from: i64,
        to: i64,
        f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<u64, StoreError> {
        self.merged(
            &Keyed {
                tail: "at >= ?1 AND at <= ?2",
                index_table: "by_time",
                index: "k.at >= ?1 AND k.at <= ?2",
                newest_first: false,
                limit: None,
            },
            params![from, to],
            f,
        )
    }

    /// Visit the events a [`Keyed`] read selects, in its order, void ones skipped, until `f`
    /// returns false or its limit is reached; returns how many were visited.
    ///
    /// In one read transaction: the events the log's index file holds ([`crate::logindex`])
    /// through its index, and the log's rows after them (few: those the indexer has not reached
    /// yet) by a scan of that range of the log, the two merged by `(at, source, id)`. On a
    /// connection without the index file every row is scanned.
    fn merged(
        &self,
        read: &Keyed<'_>,
        args: &[&dyn rusqlite::ToSql],
        mut f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<u64, StoreError> {
        let e = |source| self.err(source);
        let cap = read.limit.map_or(u64::MAX, u64::from);
        if cap == 0 {
            return Ok(0);
        }
        let order = if read.newest_first { "DESC" } else { "ASC" };
        // Bound, not written into the statement: the statements are cached, one per read.
        let cap_arg = i64::try_from(cap).unwrap_or(i64::MAX);
        let mut bound: Vec<&dyn rusqlite::ToSql> = args.to_vec();
        bound.push(&cap_arg);
        let args = &bound[..];
        let limit = format!(" LIMIT ?{}", args.len());
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let mut tail = std::collections::VecDeque::new();
        {
            let sql = format!(
                "SELECT {KEYED_COLS} FROM events WHERE gseq > {} AND void IS NULL AND {} \
                 ORDER BY at {order}, source {order}, id {order}{limit}",
                self.indexed_upto(),
                read.tail
            );
            let mut st = tx.prepare_cached(&sql).map_err(e)?;
            let mut rows = st.query(args).map_err(e)?;
            while let Some(r) = rows.next().map_err(e)? {
                tail.push_back(self.read_keyed(r).map_err(e)?);
            }
        }
        let mut n = 0u64;
        let mut visit = |row: Row, n: &mut u64| -> Result<bool, StoreError> {
            *n += 1;
            Ok(f(self.decode(row)?) && *n < cap)
        };
        // Whether `a` comes before `b` in the read's order.
        let before = |a: &Key, b: &Key| if read.newest_first { a > b } else { a < b };
        if self.indexed {
            let sql = format!(
                "SELECT {} FROM ix.{} k JOIN events e ON e.gseq = k.gseq AND e.at = k.at{} WHERE {} \
                 ORDER BY k.at {order}, e.source {order}, e.id {order}{limit}",
                KEYED_COLS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", "),
                read.index_table,
                // An entry is of the row only if the row has its keys (see `logindex`).
                if read.index_table == "by_entity" { " AND e.entity = k.entity" } else { "" },
                read.index
            );
            let mut st = tx.prepare_cached(&sql).map_err(e)?;
            let mut rows = st.query(args).map_err(e)?;
            while let Some(r) = rows.next().map_err(e)? {
                let (key, row) = self.read_keyed(r).map_err(e)?;
                while tail.front().is_some_and(|(k, _)| before(k, &key)) {
                    let (_, first) = tail.pop_front().expect("a row");
                    if !visit(first, &mut n)? {
                        return Ok(n);
                    }
                }
                if !visit(row, &mut n)? {
                    return Ok(n);
                }
            }
        }
        for (_, row) in tail {
            if !visit(row, &mut n)? {
                break;
            }
        }
        Ok(n)
    }

    /// The log's position up to which its index file holds every event, as SQL (0 without the
    /// index file: every row is after it).
    fn indexed_upto(&self) -> &'static str {
        if self.indexed { "(SELECT COALESCE(MAX(value), 0) FROM ix.state WHERE key = 'upto')" } else { "0" }
    }

    /// A row of [`Keyed`]'s columns: its key `(at, source, id)` and the row.
    fn read_keyed(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<(Key, Row)> {
        let row = self.read_row(r)?;
        Ok(((r.get(7)?, row.source.clone(), r.get(8)?), row))
    }

    /// The event-time range of the log (Unix ns of the oldest and newest event), if any.
    pub fn time_range(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let e = |source| self.err(source);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let tail: (Option<i64>, Option<i64>) = tx
            .query_row(
                &format!(
                    "SELECT MIN(at), MAX(at) FROM events WHERE gseq > {} AND void IS NULL",
                    self.indexed_upto()
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(e)?;
        let mut ends = vec![tail.0, tail.1];
        if self.indexed {
            // Through the index on event time, past the entries of events retention deleted.
            for order in ["", "DESC"] {
                ends.push(
                    tx.query_row(
                        &format!(
                            "SELECT k.at FROM ix.by_time k WHERE EXISTS (SELECT 1 FROM events e WHERE e.gseq = k.gseq AND e.at = k.at) \
                             ORDER BY k.at {order} LIMIT 1"
                        ),
                        [],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(e)?,
                );
            }
        }
        let ends: Vec<i64> = ends.into_iter().flatten().collect();
        Ok(ends.iter().min().copied().zip(ends.iter().max().copied()))
    }

    /// The newest checkpoint at or before `at` (Unix ns): its instant, the log position it was
    /// built at, and its (compressed) body.
    pub fn checkpoint_before(&self, at: i64) -> Result<Option<(i64, u64, Vec<u8>)>, StoreError> {
        self.conn
            .query_row(
                "SELECT at, gseq, body FROM checkpoints WHERE at <= ?1 ORDER BY at DESC LIMIT 1",
                [at],
                |r| Ok((r.get(0)?, to_u64(r.get(1)?), r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The instants of the stored checkpoints (Unix ns), oldest first.
    pub fn checkpoint_times(&self) -> Result<Vec<i64>, StoreError> {
        let mut st = self.conn.prepare("SELECT at FROM checkpoints ORDER BY at").map_err(|e| self.err(e))?;
        st.query_map([], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(|e| self.err(e))
    }

    /// Save a checkpoint: the state of every event whose time is before `at` (Unix ns), built from
    /// the log up to `gseq`. It is kept only if no event appended since `gseq` is older than `at`
    /// (a late event arriving while it was built makes it stale); returns whether it was kept.
    pub fn save_checkpoint(&self, at: i64, gseq: u64, body: &[u8]) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO checkpoints (at, gseq, body) VALUES (?1, ?2, ?3)",
                params![at, to_i64(gseq), body],
            )
            .map_err(|e| self.err(e))?;
        self.still_valid(at, gseq)
    }

    /// Whether an event stored after position `gseq` has a time at or before `at` (Unix ns).
    pub fn any_since(&self, gseq: u64, at: i64) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM events WHERE gseq > ?1 AND at <= ?2)",
                params![to_i64(gseq), at],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// After saving something made from the log up to `gseq` about the instant `at`: whether no
    /// event appended since is older than `at`; if one is, what was saved from `at` on is dropped.
    fn still_valid(&self, at: i64, gseq: u64) -> Result<bool, StoreError> {
        let late: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM events WHERE gseq > ?1 AND at < ?2)",
                params![to_i64(gseq), at],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if late {
            self.drop_checkpoints_after(at - 1)?;
        }
        Ok(!late)
    }

    /// Drop the checkpoints and day totals after `at` (Unix ns): an event of that time arrived
    /// after they were made, so they no longer hold every event before their instant.
    pub fn drop_checkpoints_after(&self, at: i64) -> Result<usize, StoreError> {
        self.conn.execute("DELETE FROM days WHERE at > ?1", [at]).map_err(|e| self.err(e))?;
        self.conn.execute("DELETE FROM checkpoints WHERE at > ?1", [at]).map_err(|e| self.err(e))
    }

    /// Save the regions' totals at a Beijing midnight `at` (Unix ns), made from the log up to
    /// `gseq`; kept only if no event appended since is older (as [`Store::save_checkpoint`]).
    pub fn save_day(&self, at: i64, gseq: u64, body: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("INSERT OR REPLACE INTO days (at, body) VALUES (?1, ?2)", params![at, body])
            .map_err(|e| self.err(e))?;
        self.still_valid(at, gseq)
    }

    /// The regions' totals saved at the Beijing midnight `at` (Unix ns), if any.
    pub fn day(&self, at: i64) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT body FROM days WHERE at = ?1", [at], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The midnights (Unix ns) whose day totals are kept, oldest first.
    pub fn day_times(&self) -> Result<Vec<i64>, StoreError> {
        let mut st = self.conn.prepare("SELECT at FROM days ORDER BY at").map_err(|e| self.err(e))?;
        st.query_map([], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<i64>, _>>()
            .map_err(|e| self.err(e))
    }

    /// How many day totals are kept, and the oldest's and newest's midnights (Unix ns).
    pub fn days_kept(&self) -> Result<(u64, Option<i64>, Option<i64>), StoreError> {
        self.conn
            .query_row("SELECT COUNT(*), MIN(at), MAX(at) FROM days", [], |r| {
                Ok((to_u64(r.get(0)?), r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))
    }

    /// Save a snapshot of the fold taken after event `gseq` (with the topic positions then), and
    /// drop older snapshots.
    pub fn save_snapshot(
        &self,
        gseq: u64,
        topic_seqs: &HashMap<String, u64>,
        body: &str,
    ) -> Result<(), StoreError> {
        let now = crate::now_rfc3339();
        let seqs = serde_json::to_string(topic_seqs).expect("a map of numbers serialises");
        self.conn
            .execute_batch("BEGIN")
            .and_then(|()| {
                self.conn.execute(
                    "INSERT OR REPLACE INTO snapshots (gseq, taken, topic_seqs, body) VALUES (?1, ?2, ?3, ?4)",
                    params![to_i64(gseq), now, seqs, body],
                )
            })
            .and_then(|_| self.conn.execute("DELETE FROM snapshots WHERE gseq < ?1", [to_i64(gseq)]))
            .and_then(|_| self.conn.execute_batch("COMMIT"))
            .map_err(|e| {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.err(e)
            })
    }

    /// The latest snapshot: the gseq it covers, the topic positions then, and the fold's state.
    pub fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let row: Option<(i64, String, String)> = self
            .conn
            .query_row("SELECT gseq, topic_seqs, body FROM snapshots ORDER BY gseq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(g, seqs, body)| {
            let seqs = serde_json::from_str(&seqs).map_err(|err| StoreError::Corrupt {
                path: self.path.display().to_string(),
                gseq: to_u64(g),
                message: format!("snapshot positions: {err}"),
            })?;
            Ok((to_u64(g), seqs, body))
        })
        .transpose()
    }

    /// Retention: delete events covered by the latest snapshot that were received before
    /// `cutoff` (RFC 3339). Returns how many were deleted.
    pub fn prune(&self, cutoff: &str) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM events WHERE received < ?1 AND gseq <= (SELECT COALESCE(MAX(gseq), 0) FROM snapshots)",
                [cutoff],
            )
            .map_err(|e| self.err(e))
    }

    /// Register a new ingest token for `source`; returns the token (only its hash is stored).
    pub fn create_token(&self, source: &str) -> Result<String, StoreError> {
        let token = new_token();
        self.add_token(&token_hash(&token), source, &crate::now_rfc3339(), None)?;
        Ok(token)
    }

    /// Register a token by its hash for `source`, made at `created` (again: no change); with
    /// `others_end` (unix s), the source's other tokens still valid then end then (a rotation).
    pub fn add_token(
        &self,
        hash: &str,
        source: &str,
        created: &str,
        others_end: Option<i64>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT OR IGNORE INTO tokens (hash, source, created) VALUES (?1, ?2, ?3)",
            params![hash, source, created],
        )
        .map_err(|e| self.err(e))?;
        if let Some(until) = others_end {
            tx.execute(
                "UPDATE tokens SET expires = ?3
                 WHERE source = ?1 AND hash <> ?2 AND (expires IS NULL OR expires > ?3)",
                params![source, hash, until],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The source a token belongs to, if it is registered and has not ended (revoked, or
    /// rotated out and past its grace period) by `now` (unix s).
    pub fn token_source(&self, token: &str) -> Result<Option<String>, StoreError> {
        Ok(self.token_grant(token, unix_now())?.map(|(source, _)| source))
    }

    /// The source of a token valid at `now` (unix s), with the source's rate limit (events a
    /// second) if it has one.
    pub fn token_grant(&self, token: &str, now: i64) -> Result<Option<(String, Option<f64>)>, StoreError> {
        self.conn
            .query_row(
                "SELECT t.source, l.rate FROM tokens t LEFT JOIN source_limits l ON l.source = t.source
                 WHERE t.hash = ?1 AND (t.expires IS NULL OR t.expires > ?2)",
                params![token_hash(token), now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every token (by its id: the first [`TOKEN_ID_LEN`] hex digits of its hash; the token itself
    /// is not kept) with its source, and every source's rate limit, in order of source.
    pub fn sources(&self) -> Result<Vec<SourceInfo>, StoreError> {
        let mut out: Vec<SourceInfo> = Vec::new();
        let mut q = self
            .conn
            .prepare(
                "SELECT t.source, substr(t.hash, 1, ?1), t.created, t.expires, l.rate
                 FROM tokens t LEFT JOIN source_limits l ON l.source = t.source
                 UNION ALL
                 SELECT l.source, NULL, NULL, NULL, l.rate FROM source_limits l
                 WHERE NOT EXISTS (SELECT 1 FROM tokens t WHERE t.source = l.source)
                 ORDER BY 1, 3",
            )
            .map_err(|e| self.err(e))?;
        let rows = q
            .query_map([TOKEN_ID_LEN as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        for row in rows {
            let (source, id, created, expires, rate) = row.map_err(|e| self.err(e))?;
            if out.last().is_none_or(|s| s.source != source) {
                out.push(SourceInfo { source: source.clone(), rate, tokens: Vec::new() });
            }
            if let (Some(id), Some(created), Some(s)) = (id, created, out.last_mut()) {
                let expires = expires.map(|x| Timestamp::from_unix_s(x).to_string());
                s.tokens.push(TokenInfo { id, created, expires });
            }
        }
        Ok(out)
    }

    /// End the token whose id starts with `id` (at least [`TOKEN_ID_MIN`] hex digits, and one
    /// token only) at `at` (unix s), unless it ends sooner already; returns the token's source
    /// and its whole id.
    pub fn revoke_token(&self, id: &str, at: i64) -> Result<Result<(String, String), String>, StoreError> {
        let (hash, source) = match self.token_by_id(id)? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        self.conn
            .execute(
                "UPDATE tokens SET expires = ?2 WHERE hash = ?1 AND (expires IS NULL OR expires > ?2)",
                params![hash, at],
            )
            .map_err(|e| self.err(e))?;
        Ok(Ok((source, hash[..TOKEN_ID_LEN].to_owned())))
    }

    /// The token whose id starts with `id` (at least [`TOKEN_ID_MIN`] hex digits, and one token
    /// only): its whole hash and its source, or why not.
    pub fn token_by_id(&self, id: &str) -> Result<Result<(String, String), String>, StoreError> {
        let id = id.trim().to_ascii_lowercase();
        if id.len() < TOKEN_ID_MIN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Err(format!(
                "token id {id:?}: at least {TOKEN_ID_MIN} hex digits (`yiping token list`)"
            )));
        }
        let matching: Vec<(String, String)> = self
            .conn
            .prepare("SELECT hash, source FROM tokens WHERE substr(hash, 1, ?1) = ?2")
            .and_then(|mut q| {
                q.query_map(params![id.len() as i64, id], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()
            })
            .map_err(|e| self.err(e))?;
        match &matching[..] {
            [] => Ok(Err(format!("no token has the id {id:?}"))),
            [(hash, source)] => Ok(Ok((hash.clone(), source.clone()))),
            _ => Ok(Err(format!("{} tokens have ids starting {id:?}: give more digits", matching.len()))),
        }
    }

    /// Rotate `source`'s tokens: a new one (returned), and the others still valid end at `until`
    /// (unix s: now, or after a grace period for the source to switch).
    pub fn rotate_tokens(&self, source: &str, until: i64) -> Result<String, StoreError> {
        let token = new_token();
        self.add_token(&token_hash(&token), source, &crate::now_rfc3339(), Some(until))?;
        Ok(token)
    }

    /// Limit `source` to `rate` events a second (None: no limit).
    pub fn set_source_rate(&self, source: &str, rate: Option<f64>) -> Result<(), StoreError> {
        match rate {
            Some(r) => self.conn.execute(
                "INSERT INTO source_limits (source, rate) VALUES (?1, ?2)
                 ON CONFLICT (source) DO UPDATE SET rate = excluded.rate",
                params![source, r],
            ),
            None => self.conn.execute("DELETE FROM source_limits WHERE source = ?1", [source]),
        }
        .map(|_| ())
        .map_err(|e| self.err(e))
    }
}

/// How many hex digits of a token's hash name it (`yiping token list`).
pub const TOKEN_ID_LEN: usize = 12;

/// The fewest hex digits that name a token when revoking it.
pub const TOKEN_ID_MIN: usize = 6;

pub use yiping_protocol::api::{SourceInfo, TokenInfo};

/// Seconds since 1970 now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use yiping_protocol::events::parse_line;

    fn ev(source: &str, id: &str, section: &str) -> Located {
        let line = format!(
            r#"{{"type":"water.reading","id":"{id}","time":"2026-11-22T08:00:00Z","source":"{source}","data":{{"section":"{section}","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}}}"#
        );
        Located::new(parse_line(&line).expect("valid"), "420105".into())
    }

    #[test]
    fn commits_deferred_to_a_sync_go_to_the_file_it_syncs_even_after_the_log_starts_over() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempdir();
        let mut s = Store::open(&dir).expect("opens");
        let wal = s.defer_sync().expect("the log's file is there");
        let level: i64 = s.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("reads");
        assert_eq!(level, 1, "NORMAL: commits do not wait for the disk");
        let part = |events| Part { events, received: "t", stream: None };
        let (one, two) = ([ev("a", "1", "x")], [ev("a", "2", "x")]);
        s.append_parts(&[part(&one)]).expect("appends");
        wal.sync().expect("syncs");
        // A checkpoint that copies the whole log and cuts its file to nothing, as under load:
        // the next commit writes the log from its start, in the same file.
        let side = Store::open_side(&dir).expect("a second connection");
        side.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoints");
        assert_eq!(wal.file.metadata().expect("stat").len(), 0, "the log's file was cut back");
        s.append_parts(&[part(&two)]).expect("appends after the checkpoint");
        wal.sync().expect("syncs");
        let on_disk = std::fs::metadata(&wal.path).expect("the log's file");
        let synced = wal.file.metadata().expect("stat");
        assert_eq!((synced.ino(), synced.dev()), (on_disk.ino(), on_disk.dev()), "the same file");
        assert!(synced.len() > 0, "the commit after the checkpoint is in the file synced");
        drop((s, side));
        assert_eq!(Store::open(&dir).expect("reopens").last_gseq(), 2);
    }

    #[test]
    fn a_copy_of_the_log_stream_takes_its_epoch_and_stores_messages_only_in_order() {
        let dir = tempdir();
        let mut s = Store::open(&dir).expect("opens");
        s.join_stream("js1").expect("a new log joins");
        assert_eq!((s.epoch(), s.stream_position().expect("reads")), ("js1", Some(("js1".into(), 0))));
        let one = [ev("a", "1", "x")];
        let part = |events, stream| Part { events, received: "t", stream: Some(stream) };
        s.append_parts(&[part(&one, (0, 1))]).expect("message 1 follows 0");
        // Message 3 after 2, but 2 was never stored (its batch failed): refused, nothing stored.
        let two = [ev("a", "2", "x")];
        let e = s.append_parts(&[part(&two, (2, 3))]).expect_err("a gap");
        assert!(e.to_string().contains("applied up to 1"), "{e}");
        assert_eq!(s.last_gseq(), 1);
        s.append_parts(&[part(&two, (1, 2))]).expect("message 2 follows 1");
        assert_eq!(s.stream_position().expect("reads"), Some(("js1".into(), 2)));
        drop(s);
        let mut s = Store::open(&dir).expect("reopens");
        assert_eq!(s.epoch(), "js1");
        s.join_stream("js1").expect("the same stream goes on");
        let e = s.join_stream("js2").expect_err("another stream");
        assert!(e.contains("epoch js1") && e.contains("js2"), "{e}");
        // A log of its own cannot become a copy.
        let own = tempdir();
        let mut s = Store::open(&own).expect("opens");
        s.append(&one, "t").expect("appends");
        assert!(s.join_stream("js1").expect_err("not empty").contains("a log of its own"));
    }

    #[test]
    fn a_line_is_kept_as_received_and_read_back_with_its_source() {
        let dir = tempdir();
        let mut s = Store::open(&dir).expect("opens");
        // As a source sends it: no source (the token names it), an offset time, spaces.
        let line = r#"{ "type":"water.reading", "id":"r1", "time":"2026-11-22T16:00:00.5+08:00", "data":{"section":"x","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08} }"#;
        let mut event = parse_line(line).expect("valid");
        assert_eq!(event.source, None);
        event.source = Some("hz".into());
        let kept = Located { event: event.clone(), adcode: "420105".into(), line: Some(line.into()) };
        s.append(&[kept, ev("a", "2", "x")], "t").expect("appends");
        let body: String =
            s.conn.query_row("SELECT body FROM events WHERE gseq = 1", [], |r| r.get(0)).expect("reads");
        assert_eq!(body, line, "the line as received");
        let mut back = vec![];
        s.replay(0, |e| back.push(e.event)).expect("replays");
        assert_eq!(back[0], event, "with the source from its column");
        assert_eq!(back[1].source.as_deref(), Some("a"), "an event's own JSON");
        // By event time: 16:00:00.5+08:00 is half a second after the other's 08:00:00Z.
        let history =
            s.history("section:x", Timestamp::from_unix_s(0), Timestamp::from_unix_s(4_000_000_000), 10);
        assert_eq!(history.expect("reads")[1].event, event);
        // The write-ahead log is copied into the database by a passive checkpoint.
        let (pages, copied) = s.checkpoint_wal().expect("checkpoints");
        assert!(pages > 0 && copied == pages, "{pages} pages, {copied} copied");
    }

    #[test]
    fn the_newest_events_tell_each_topic_s_oldest_batch_among_them() {
        let dir = tempdir();
        let mut s = Store::open(&dir).expect("opens");
        let patrol = |id: &str| {
            let line = format!(
                r#"{{"type":"river.patrol","id":"{id}","time":"2026-11-22T08:00:00Z","source":"a","data":{{"patrol":"{id}","chief":"C1","chief_name":"张三","level":"county","river":"汉江","lon":114.2199,"lat":30.5797,"minutes":30}}}}"#
            );
            Located::new(parse_line(&line).expect("valid"), "420104".into())
        };
        // Water seqs 1 (3 events) and 2 (1 event, with rivers seq 1), then rivers seq 2.
        s.append(&[ev("a", "1", "x"), ev("a", "2", "x"), ev("a", "3", "x")], "t").expect("appends");
        s.append(&[patrol("p1"), ev("a", "4", "x")], "t").expect("appends");
        s.append(&[patrol("p2"), patrol("p3")], "t").expect("appends");
        let seqs = |n| {
            let mut v: Vec<(String, u64)> =
                s.oldest_seqs_among_newest(0, n).expect("reads").into_iter().collect();
            v.sort();
            v
        };
        assert!(seqs(7).is_empty() && seqs(8).is_empty(), "no more than n: none left out");
        assert_eq!(seqs(2), [("rivers".to_owned(), 2)]);
        assert_eq!(seqs(3), [("rivers".to_owned(), 2), ("water".to_owned(), 2)]);
        assert_eq!(seqs(5), [("rivers".to_owned(), 1), ("water".to_owned(), 1)]);
        assert!(s.oldest_seqs_among_newest(5, 1).expect("reads").len() == 1);
        assert!(s.oldest_seqs_among_newest(5, 2).expect("reads").is_empty(), "after gseq 5: 2 events");
    }

    #[test]
    fn a_new_log_has_large_pages_and_an_old_one_keeps_its_own() {
        let pragma = |s: &Store, name: &str| -> i64 {
            s.conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).expect("pragma")
        };
        // The binary opens the audit trail, which shares the file, before the log.
        let dir = tempdir();
        drop(crate::trail::Trail::open(&dir).expect("opens"));
        let mut s = Store::open(&dir).expect("opens");
        s.append(&[ev("a", "1", "x")], "t").expect("appends");
        assert_eq!(pragma(&s, "page_size"), i64::from(PAGE_BYTES));
        assert_eq!(pragma(&s, "wal_autocheckpoint"), i64::from(WAL_CAP_BYTES / PAGE_BYTES));
        drop(s);
        // A log made by an older version, in SQLite's default pages: opened, upgraded and
        // appended to as it is.
        let old = tempdir();
        {
            let c = Connection::open(old.join(DB_FILE)).expect("opens");
            c.execute_batch(
                "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;
                 CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
            )
            .expect("an old log");
        }
        for n in ["1", "2"] {
            let mut s = Store::open(&old).expect("opens");
            assert_eq!(pragma(&s, "page_size"), 4096);
            assert_eq!(pragma(&s, "wal_autocheckpoint"), i64::from(WAL_CAP_BYTES / 4096));
            s.append(&[ev("a", n, "x")], "t").expect("appends");
        }
        assert_eq!(Store::open(&old).expect("opens").last_gseq(), 2);
    }

    #[test]
    fn appends_dedupes_and_survives_reopen_with_the_same_epoch() {
        let dir = tempdir();
        let epoch;
        {
            let mut s = Store::open(&dir).expect("opens");
            epoch = s.epoch().to_owned();
            let r =
                s.append(&[ev("a", "1", "x"), ev("a", "2", "x"), ev("a", "1", "x")], "t").expect("appends");
            // One batch: its events of a topic share the seq of the delta that carries them.
            assert_eq!(
                r,
                vec![
                    Appended::New { gseq: 1, tseq: 1 },
                    Appended::New { gseq: 2, tseq: 1 },
                    Appended::Duplicate { gseq: 1 }
                ]
            );
            // Same id from another source is another event.
            let r = s.append(&[ev("b", "1", "x"), ev("a", "2", "x")], "t").expect("appends");
            assert_eq!(r, vec![Appended::New { gseq: 3, tseq: 2 }, Appended::Duplicate { gseq: 2 }]);
            // A batch of duplicates only takes no seq; batches in one transaction take one each.
            let r = s.append(&[ev("b", "1", "x")], "t").expect("appends");
            assert_eq!(r, vec![Appended::Duplicate { gseq: 3 }]);
            let (one, two) = ([ev("c", "1", "x"), ev("c", "2", "x")], [ev("c", "3", "x")]);
            let r = s
                .append_parts(&[
                    Part { events: &one, received: "t", stream: None },
                    Part { events: &[], received: "t", stream: None },
                    Part { events: &two, received: "t", stream: None },
                ])
                .expect("appends");
            assert_eq!(
                r,
                vec![
                    Appended::New { gseq: 4, tseq: 3 },
                    Appended::New { gseq: 5, tseq: 3 },
                    Appended::New { gseq: 6, tseq: 4 }
                ]
            );
        }
        let s = Store::open(&dir).expect("reopens");
        assert_eq!(s.epoch(), epoch);
        assert_eq!(s.last_gseq(), 6);
        assert_eq!(s.topic_seqs()["water"], 4);
        let mut seen = vec![];
        s.replay(1, |e| seen.push((e.gseq, e.event.source.clone().unwrap_or_default(), e.event.id.clone())))
            .expect("replays");
        assert_eq!(seen[..2], [(2, "a".into(), "2".into()), (3, "b".into(), "1".into())]);
        let day = |t: &str| Timestamp::parse(t).expect("time");
        let h = s
            .history("section:x", day("2026-11-22T00:00:00Z"), day("2026-11-23T00:00:00Z"), 10)
            .expect("history");
        assert_eq!(h.len(), 6);
    }

    #[test]
    fn a_log_from_before_instants_is_upgraded_and_impossible_times_set_aside() {
        let dir = tempdir();
        {
            // The schema before event times were stored as instants.
            let conn = Connection::open(dir.join(DB_FILE)).expect("opens");
            conn.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE events (gseq INTEGER PRIMARY KEY, source TEXT NOT NULL, id TEXT NOT NULL,
                     kind TEXT NOT NULL, topic TEXT NOT NULL, tseq INTEGER NOT NULL, entity TEXT NOT NULL,
                     adcode TEXT NOT NULL, time TEXT NOT NULL, received TEXT NOT NULL, body TEXT NOT NULL,
                     UNIQUE (source, id));
                 CREATE INDEX events_entity ON events (entity, time);",
            )
            .expect("old schema");
            let body = |id: &str, t: &str| {
                format!(
                    r#"{{"type":"water.reading","id":"{id}","time":"{t}","source":"a","data":{{"section":"x","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}}}"#
                )
            };
            // Accepted by the old structural check: an offset without a colon, hour 24.
            for (g, id, t) in [
                (1, "1", "2026-11-22T16:30:00+08:00"),
                (2, "2", "2026-11-22T08:00:00+0800"),
                (3, "3", "2026-11-22T24:00:00Z"),
                (4, "4", "2026-11-22T09:00:00Z"),
            ] {
                conn.execute(
                    "INSERT INTO events VALUES (?1, 'a', ?2, 'water.reading', 'water', ?1, 'section:x', '420105', ?3, 'r', ?4)",
                    params![g, id, t, body(id, t)],
                )
                .expect("row");
            }
        }
        let s = Store::open(&dir).expect("an old log opens");
        let (mut seen, mut void) = (vec![], vec![]);
        s.replay_with_voids(0, |r| match r {
            Replayed::Event(e) => seen.push(e.event.id),
            Replayed::Void { topic, tseq } => void.push((topic, tseq)),
        })
        .expect("replays");
        assert_eq!(seen, ["1", "4"]);
        assert_eq!(void, [("water".to_owned(), 2), ("water".to_owned(), 3)], "set aside, their places kept");
        let day = |t: &str| Timestamp::parse(t).expect("time");
        let h = s
            .history("section:x", day("2026-11-22T00:00:00Z"), day("2026-11-23T00:00:00Z"), 10)
            .expect("history");
        let ids: Vec<&str> = h.iter().map(|e| e.event.id.as_str()).collect();
        assert_eq!(ids, ["1", "4"], "by instant: 08:30Z before 09:00Z");
        drop(s);
        Store::open(&dir).expect("and opens again (the upgrade is done once)");
    }

    #[test]
    fn tokens_are_stored_hashed() {
        let dir = tempdir();
        let s = Store::open(&dir).expect("opens");
        let t = s.create_token("hbsthj").expect("creates");
        assert_eq!(s.token_source(&t).expect("reads").as_deref(), Some("hbsthj"));
        assert_eq!(s.token_source("yp_wrong").expect("reads"), None);
        let stored: String = s.conn.query_row("SELECT hash FROM tokens", [], |r| r.get(0)).expect("row");
        assert_ne!(stored, t);
    }

    pub(crate) fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "yiping-store-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }
}
