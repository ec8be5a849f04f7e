//! The log's indexes by event time and by entity, kept beside the log rather than in it: in a
//! database file of their own ([`INDEX_FILE`]), brought up to the log in large batches by a
//! thread of their own ([`Indexer`]), behind the writer.
//!
//! **Why apart.** Inside the log's table, every commit of the ingest writer inserted each event
//! into both indexes too, and an index insert at a random place (an entity's history: every
//! entity is a place of its own) writes a whole page to the write-ahead log. A commit of 1,000
//! village reports rewrote a page of the entity index per event: the writer spent more than half
//! its time on the two indexes (`bench append`). An [`Indexer`] pass inserts tens of thousands
//! of events sorted by key, so each page it touches is written once for all the events it takes,
//! and it runs on the other core; the writer keeps only the table and its `(source, id)`
//! uniqueness, which a duplicate must be checked against in the same transaction.
//!
//! **The algorithm.** The index file holds `by_time (at, gseq)` and `by_entity (entity, at,
//! gseq)`, both without rowids, and `upto`: the log's global sequence up to which they hold
//! every event (void ones are left out). A pass reads the events after `upto` (at most
//! [`PASS_EVENTS`]), sorts them by each key, inserts them, and moves `upto`, in one transaction
//! of the index file: the indexes and `upto` always agree. A reader ([`crate::store::Store`]
//! opened with [`crate::store::Store::open_side`]) reads in one read transaction the indexed
//! events through the indexes and the rest (the log's rows after `upto`, a short range of its
//! rowid) by a scan, and merges the two in its order, so every answer holds every stored event
//! whatever the index's lag.
//!
//! **Caveats.** The index file is derived: deleted (with its `-wal` and `-shm`) while the server
//! is stopped, it is made again from the log when it starts ([`catch_up`]), as it is for a log
//! from before it or one written while the server was stopped. It commits without syncing
//! (`synchronous = NORMAL`: its checkpoints sync, every 16 MiB of it). Never syncing it, with a
//! marker to make it again after the machine stops, was tried and measured (`bench ingest
//! rate 60000 150`): the kernel's writeback of the unsynced pages came in bursts every 30 s,
//! and the acks' p99 rose to 166 ms against 56 (the worst 10 s: 324 ms against 56), though
//! runs of a few seconds, which end before the first burst, had shown it lower. After a power
//! cut the index may miss its last passes, which are made again, or hold events the log lost
//! with its unsynced tail (never acknowledged), whose entries [`Indexer::open`] drops; an index
//! of another log (its epoch differs: the folder's log was replaced), or one whose last event
//! is no longer at its place (events were appended after such a cut before it was opened), it
//! makes again. A read also takes an entry only for a row with the entry's keys. Retention
//! deletes events from the log only: their entries are skipped by every read (the join finds no
//! row) and dropped by the next [`Indexer::prune`].
//!
//! ```no_run
//! # fn main() -> Result<(), yiping_server::store::StoreError> {
//! let data = std::path::Path::new("data");
//! let indexer = yiping_server::logindex::Indexer::open(data)?;
//! while indexer.pass()? > 0 {} // up to the log's newest event
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{DB_FILE, StoreError};

/// The index file's name inside the data folder.
pub const INDEX_FILE: &str = "index.db";

/// Events a pass indexes at most (one transaction of the index file).
pub const PASS_EVENTS: usize = 100_000;

/// Pause after the indexes have caught up, so that the next pass takes many commits.
pub const PASS_PAUSE: Duration = Duration::from_millis(250);

/// How often at most entries of events that retention deleted are dropped, when it has deleted
/// fewer than [`PASS_EVENTS`] since the last time.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3_600);

/// Create the index file's tables in the schema `schema` of `conn` (`main` for the indexer's own
/// connection, the name it is attached under for a reader's) if they are not there, in pages of
/// 16 KiB as the log's ([`crate::store::PAGE_BYTES`]): `bench append`, the indexer alone, 1.9–2.9
/// µs per new patrol against 3.2–3.5 with SQLite's 4 KiB, 2.7–4.0 per village report against
/// 3.5–4.4; in `bench ingest pipeline` the village reports' indexing took 4.5 µs of CPU per
/// event against 7.5–8.5.
pub(crate) fn create(conn: &Connection, schema: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA {schema}.page_size = {};
         PRAGMA {schema}.journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS {schema}.state (key TEXT PRIMARY KEY, value NOT NULL);
         CREATE TABLE IF NOT EXISTS {schema}.by_time (
             at INTEGER NOT NULL, gseq INTEGER NOT NULL, PRIMARY KEY (at, gseq)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS {schema}.by_entity (
             entity TEXT NOT NULL, at INTEGER NOT NULL, gseq INTEGER NOT NULL,
             PRIMARY KEY (entity, at, gseq)) WITHOUT ROWID;",
        crate::store::PAGE_BYTES
    ))
}

/// Attach the index file of the log at `db` to a reader's connection as `ix` (created empty if
/// it is not there: every event is then read from the log's rows).
pub(crate) fn attach(conn: &Connection, db: &Path) -> rusqlite::Result<()> {
    let file = db.with_file_name(INDEX_FILE);
    conn.execute("ATTACH DATABASE ?1 AS ix", [file.to_string_lossy()])?;
    create(conn, "ix")
}

/// Keeps the index file up to the log: its own connection to the index file, with the log
/// attached (read only by it).
#[derive(Debug)]
pub struct Indexer {
    conn: Connection,
    path: PathBuf,
    pruned: Option<Instant>,
    /// The log's first position when entries were last dropped.
    pruned_below: i64,
}

impl Indexer {
    /// Open the index file of the log in `data_dir` (created if it is not there). Entries of
    /// events the log no longer holds past its end (lost with an unsynced tail in a power cut)
    /// are dropped, and `upto` set back to the log's end; the index of another log, or one
    /// whose last event is no longer at its place, is emptied, to be made again.
    pub fn open(data_dir: &Path) -> Result<Indexer, StoreError> {
        let path = data_dir.join(INDEX_FILE);
        let conn = crate::store::connect(&path, 32_768)?;
        let e = |source| StoreError::Sqlite { path: path.display().to_string(), source };
        create(&conn, "main").map_err(e)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL").map_err(e)?;
        conn.execute("ATTACH DATABASE ?1 AS log", [data_dir.join(DB_FILE).to_string_lossy()]).map_err(e)?;
        let indexer = Indexer { conn, path, pruned: None, pruned_below: 1 };
        let e = |source| indexer.err(source);
        // The index of another log (a data folder whose log was replaced) is started over.
        let get = |sql: &str| indexer.conn.query_row(sql, [], |r| r.get::<_, String>(0)).optional();
        let epoch = get("SELECT value FROM log.meta WHERE key = 'epoch'").map_err(e)?;
        let kept = get("SELECT value FROM state WHERE key = 'epoch'").map_err(e)?;
        if kept != epoch {
            if kept.is_some() {
                tracing::warn!("the log's index is of another log: made again");
            }
            let tx = indexer.conn.unchecked_transaction().map_err(e)?;
            tx.execute_batch("DELETE FROM by_time; DELETE FROM by_entity; DELETE FROM state;").map_err(e)?;
            tx.execute("INSERT INTO state (key, value) VALUES ('epoch', ?1)", [&epoch]).map_err(e)?;
            tx.commit().map_err(e)?;
        }
        // The event at `upto` is the one the last pass ended on, unless events that took the
        // places of lost ones were appended before this (a power cut, then `yiping import`):
        // then which entries are still true is unknown, and the index is made again.
        let at_upto =
            get(&format!("SELECT source || char(31) || id FROM log.events WHERE gseq = {}", indexer.upto()?))
                .map_err(e)?;
        let ended_on = get("SELECT value FROM state WHERE key = 'ended_on'").map_err(e)?;
        if at_upto.is_some() && ended_on.is_some() && at_upto != ended_on {
            tracing::warn!("the log's index does not match the log (events after a power cut): made again");
            let tx = indexer.conn.unchecked_transaction().map_err(e)?;
            tx.execute_batch(
                "DELETE FROM by_time; DELETE FROM by_entity; DELETE FROM state WHERE key <> 'epoch';",
            )
            .map_err(e)?;
            tx.commit().map_err(e)?;
        }
        let (upto, end) = (indexer.upto()?, indexer.log_end()?);
        if upto > end {
            tracing::warn!(upto, end, "the log's index is ahead of the log (a power cut): set back");
            let tx = indexer.conn.unchecked_transaction().map_err(e)?;
            tx.execute("DELETE FROM by_time WHERE gseq > ?1", [end]).map_err(e)?;
            tx.execute("DELETE FROM by_entity WHERE gseq > ?1", [end]).map_err(e)?;
            set_upto(&tx, end).map_err(e)?;
            tx.commit().map_err(e)?;
        }
        Ok(indexer)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.display().to_string(), source }
    }

    /// The log's global sequence up to which the indexes hold every event.
    pub fn upto(&self) -> Result<i64, StoreError> {
        read_upto(&self.conn).map_err(|e| self.err(e))
    }

    /// The log's last position: its newest event's, or its snapshot's when retention has
    /// deleted every event.
    fn log_end(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT MAX(COALESCE((SELECT MAX(gseq) FROM log.events), 0),
                            COALESCE((SELECT MAX(gseq) FROM log.snapshots), 0))",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Index the next events of the log (at most [`PASS_EVENTS`]) in one transaction; returns
    /// how many entries of the log it went past (0: the indexes are up to the log).
    pub fn pass(&self) -> Result<usize, StoreError> {
        let e = |source| self.err(source);
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let upto = read_upto(&tx).map_err(e)?;
        let last: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(gseq), ?1) FROM (SELECT gseq FROM log.events WHERE gseq > ?1 ORDER BY gseq LIMIT ?2)",
                params![upto, PASS_EVENTS as i64],
                |r| r.get(0),
            )
            .map_err(e)?;
        let went = usize::try_from(last - upto).unwrap_or(0);
        if went == 0 {
            return Ok(0);
        }
        // Sorted by each key, so that the pages of each index are visited in order, once.
        for sql in [
            "INSERT OR IGNORE INTO by_entity SELECT entity, at, gseq FROM log.events
             WHERE gseq > ?1 AND gseq <= ?2 AND void IS NULL ORDER BY entity, at, gseq",
            "INSERT OR IGNORE INTO by_time SELECT at, gseq FROM log.events
             WHERE gseq > ?1 AND gseq <= ?2 AND void IS NULL ORDER BY at, gseq",
        ] {
            tx.prepare_cached(sql).and_then(|mut st| st.execute([upto, last])).map_err(e)?;
        }
        set_upto(&tx, last).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(went)
    }

    /// Drop the entries of events retention deleted from the log (those before its first
    /// event) once it has deleted any: at once for the first time and for [`PASS_EVENTS`] or
    /// more, else at most every [`PRUNE_EVERY`]; returns how many. Each index is read whole:
    /// they are not ordered by the log's sequence.
    pub fn prune(&mut self) -> Result<usize, StoreError> {
        let e = |source| StoreError::Sqlite { path: self.path.display().to_string(), source };
        let first: Option<i64> =
            self.conn.query_row("SELECT MIN(gseq) FROM log.events", [], |r| r.get(0)).map_err(e)?;
        let below = match first {
            Some(first) => first,
            None => self.upto()? + 1,
        };
        let deleted = below - self.pruned_below;
        if deleted <= 0
            || (deleted < PASS_EVENTS as i64 && self.pruned.is_some_and(|t| t.elapsed() < PRUNE_EVERY))
        {
            return Ok(0);
        }
        self.pruned = Some(Instant::now());
        self.pruned_below = below;
        let tx = self.conn.unchecked_transaction().map_err(e)?;
        let n = tx.execute("DELETE FROM by_time WHERE gseq < ?1", [below]).map_err(e)?
            + tx.execute("DELETE FROM by_entity WHERE gseq < ?1", [below]).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(n)
    }

    /// Keep the indexes up to the log until `wake` is closed: passes after a nudge (the
    /// writer's commits) or a second, until they have caught up, then [`PASS_PAUSE`].
    pub fn run(mut self, wake: &std::sync::mpsc::Receiver<()>) {
        use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
        let mut failing = false;
        loop {
            let step = (|| {
                while self.pass()? > 0 {}
                self.prune()
            })();
            match step {
                Ok(_) => failing = false,
                // Said once, not every second: reads scan more of the log meanwhile.
                Err(e) if !failing => {
                    failing = true;
                    tracing::error!("the log's index is not kept up (reads scan the log instead): {e}");
                }
                Err(_) => {}
            }
            if let Err(TryRecvError::Disconnected) = wake.try_recv() {
                return;
            }
            std::thread::sleep(PASS_PAUSE);
            match wake.recv_timeout(Duration::from_secs(1)) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// Bring the index file of the log in `data_dir` up to the log, now, on this thread; returns how
/// many entries of the log it went past. Start-up does this before anything reads (a log written
/// while the server was stopped, `yiping simulate --data`, or one from before the index file,
/// whose reads would otherwise scan it), then [`Indexer::run`] keeps up.
pub fn catch_up(data_dir: &Path) -> Result<usize, StoreError> {
    let indexer = Indexer::open(data_dir)?;
    let (t0, mut n) = (Instant::now(), 0);
    loop {
        let went = indexer.pass()?;
        if went == 0 {
            break;
        }
        n += went;
        tracing::info!(events = n, s = t0.elapsed().as_secs(), "the log's index: catching up with the log");
    }
    Ok(n)
}

/// `upto` (0 before the first pass).
fn read_upto(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM state WHERE key = 'upto'", [], |r| r.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// Set `upto`, and note which event is there (`ended_on`: its source and id), which
/// [`Indexer::open`] checks.
fn set_upto(conn: &Connection, upto: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO state (key, value) VALUES ('upto', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [upto],
    )?;
    conn.execute("DELETE FROM state WHERE key = 'ended_on'", [])?;
    conn.execute(
        "INSERT INTO state (key, value) SELECT 'ended_on', source || char(31) || id FROM log.events WHERE gseq = ?1",
        [upto],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::tempdir;
    use crate::store::{Located, Store};
    use yiping_protocol::events::parse_line;
    use yiping_protocol::instant::Timestamp;

    /// A reading of `section` at `time`, as a source would send it.
    fn reading(source: &str, id: usize, section: &str, time: &str) -> Located {
        let line = format!(
            r#"{{"type":"water.reading","id":"r{id}","time":"{time}","source":"{source}","data":{{"section":"{section}","ph":7.6,"do_mg_l":8.1,"codmn_mg_l":2.2,"nh3n_mg_l":0.18,"tp_mg_l":0.08}}}}"#
        );
        Located::new(parse_line(&line).expect("valid"), "420105".into())
    }

    /// Readings as real feeds send them: late and backfilled, `+08:00` and fractional times, and
    /// several of one instant (the order then goes by source and id), in batches of 37.
    fn feed(n: usize) -> Vec<Vec<Located>> {
        let times = [
            "2026-11-22T08:00:00Z",
            "2026-11-22T16:00:00+08:00",
            "2026-11-22T08:00:00.5Z",
            "2026-11-21T23:59:59.999+08:00",
            "2026-11-22T09:30:00Z",
            "2026-11-20T12:00:00Z",
        ];
        let all: Vec<Located> = (0..n)
            .map(|i| {
                let source = ["b", "a", "c"][(i * 7) % 3];
                let section = format!("s{}", (i * 13) % 5);
                // Ids that do not sort as they arrive.
                reading(source, (i * 7919) % 10_007, &section, times[(i * 31 + i / 5) % times.len()])
            })
            .collect();
        all.chunks(37).map(<[Located]>::to_vec).collect()
    }

    /// What a read must give: the stored events in `(at, source, id)` order.
    fn reference(stored: &[Located]) -> Vec<(i64, String, String, String)> {
        let mut all: Vec<_> = stored
            .iter()
            .map(|l| {
                let e = &l.event;
                (e.time.at.unix_ns(), e.source.clone().unwrap_or_default(), e.id.clone(), e.data.entity())
            })
            .collect();
        all.sort();
        all.dedup_by(|a, b| (&a.1, &a.2) == (&b.1, &b.2));
        all
    }

    fn ids(events: &[crate::store::StoredEvent]) -> Vec<(String, String)> {
        events.iter().map(|e| (e.event.source.clone().unwrap_or_default(), e.event.id.clone())).collect()
    }

    /// Every read by time and entity, on the reader `r`, against the reference `want`.
    fn check_reads(r: &Store, want: &[(i64, String, String, String)], at: &str) {
        let key = |w: &(i64, String, String, String)| (w.1.clone(), w.2.clone());
        let t = |s: &str| Timestamp::parse(s).expect("time");
        let (from, to) = (t("2026-11-21T00:00:00Z"), t("2026-11-22T08:00:00.5Z"));
        for section in ["s0", "s3", "nowhere"] {
            let entity = format!("section:{section}");
            let of: Vec<_> = want.iter().filter(|w| w.3 == entity).collect();
            let between: Vec<_> = of
                .iter()
                .filter(|w| (from.unix_ns()..=to.unix_ns()).contains(&w.0))
                .map(|w| key(w))
                .collect();
            for limit in [1, 7, 1000] {
                let got = r.history(&entity, from, to, limit).expect("history");
                let n = between.len().min(limit as usize);
                assert_eq!(ids(&got), between[..n], "{at}: history of {entity}, at most {limit}");
                let got = r.history_latest(&entity, limit, to).expect("newest");
                let upto: Vec<_> = of.iter().filter(|w| w.0 <= to.unix_ns()).map(|w| key(w)).collect();
                let n = upto.len().min(limit as usize);
                assert_eq!(ids(&got), upto[upto.len() - n..], "{at}: newest {limit} of {entity}");
            }
        }
        let mut got = Vec::new();
        r.events_between(from.unix_ns(), to.unix_ns(), |e| {
            got.push(e);
            got.len() < 50
        })
        .expect("reads");
        let between: Vec<_> =
            want.iter().filter(|w| (from.unix_ns()..=to.unix_ns()).contains(&w.0)).map(key).collect();
        let stop = between.len().min(50);
        assert_eq!(ids(&got), between[..stop], "{at}: events between, stopped at 50");
        let range = want.first().map(|w| w.0).zip(want.last().map(|w| w.0));
        assert_eq!(r.time_range().expect("range"), range, "{at}: time range");
    }

    #[test]
    fn reads_through_the_index_and_the_log_after_it_give_what_a_scan_of_the_log_gives() {
        let dir = tempdir();
        let mut log = Store::open(&dir).expect("opens");
        let reader = Store::open_side(&dir).expect("a reader");
        let indexer = Indexer::open(&dir).expect("the index opens");
        let batches = feed(600);
        let mut stored = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            log.append(batch, "t").expect("appends");
            // A re-sent batch: duplicates are stored once.
            if i % 5 == 0 {
                log.append(batch, "t").expect("appends");
            }
            stored.extend(batch.iter().cloned());
            if i == 6 {
                check_reads(&reader, &reference(&stored), "nothing indexed");
                assert_eq!(indexer.pass().expect("a pass"), stored.len());
                check_reads(&reader, &reference(&stored), "all indexed");
            }
        }
        check_reads(&reader, &reference(&stored), "a third indexed");
        // The writer's connection has no index file: it scans.
        check_reads(&log, &reference(&stored), "the writer's connection");
        let behind = log.last_gseq() - u64::try_from(indexer.upto().expect("upto")).expect("positive");
        assert_eq!(catch_up(&dir).expect("catches up") as u64, behind);
        assert_eq!(indexer.upto().expect("upto"), i64::try_from(log.last_gseq()).expect("small"));
        check_reads(&reader, &reference(&stored), "all indexed");
    }

    #[test]
    fn an_index_ahead_of_the_log_is_set_back_and_deleted_events_are_skipped_then_dropped() {
        let dir = tempdir();
        let mut log = Store::open(&dir).expect("opens");
        let batches = feed(200);
        let mut stored = Vec::new();
        for batch in &batches[..4] {
            log.append(batch, "t").expect("appends");
            stored.extend(batch.iter().cloned());
        }
        let indexer = Indexer::open(&dir).expect("the index opens");
        assert_eq!(indexer.pass().expect("a pass"), 148);
        // A power cut takes the log's unsynced tail (never acknowledged), not the index's: the
        // next events take the same places in the log.
        let raw = Connection::open(dir.join(DB_FILE)).expect("opens");
        raw.execute("DELETE FROM events WHERE gseq > 100", []).expect("deletes");
        stored.truncate(100);
        drop((indexer, log));
        let indexer = Indexer::open(&dir).expect("the index opens");
        assert_eq!(indexer.upto().expect("upto"), 100, "set back to the log's end");
        let mut log = Store::open(&dir).expect("opens");
        for batch in &batches[4..] {
            log.append(batch, "t").expect("appends");
            stored.extend(batch.iter().cloned());
        }
        let reader = Store::open_side(&dir).expect("a reader");
        check_reads(&reader, &reference(&stored), "after the cut");
        while indexer.pass().expect("a pass") > 0 {}
        check_reads(&reader, &reference(&stored), "after the cut, all indexed");
        // Retention deletes the oldest events from the log alone: reads skip their entries, and
        // a prune drops them.
        raw.execute("DELETE FROM events WHERE gseq <= 30", []).expect("deletes");
        let kept = &stored[30..];
        check_reads(&reader, &reference(kept), "after retention");
        let mut indexer = indexer;
        let entries = |t: &str| -> i64 {
            indexer.conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0)).expect("counts")
        };
        assert_eq!((entries("by_time"), entries("by_entity")), (152, 152));
        assert_eq!(indexer.prune().expect("prunes"), 60);
        assert_eq!(indexer.prune().expect("not again within the hour"), 0);
        check_reads(&reader, &reference(kept), "after the prune");
    }

    #[test]
    fn the_index_of_a_log_that_was_replaced_is_made_again() {
        let dir = tempdir();
        let batches = feed(100);
        {
            let mut log = Store::open(&dir).expect("opens");
            log.append(&batches[0], "t").expect("appends");
            let indexer = Indexer::open(&dir).expect("the index opens");
            assert_eq!(indexer.pass().expect("a pass"), 37);
        }
        for leftover in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("{DB_FILE}{leftover}")));
        }
        let mut log = Store::open(&dir).expect("a new log");
        log.append(&batches[1], "t").expect("appends");
        let indexer = Indexer::open(&dir).expect("the index opens");
        assert_eq!(indexer.upto().expect("upto"), 0, "started over");
        let reader = Store::open_side(&dir).expect("a reader");
        check_reads(&reader, &reference(&batches[1]), "a new log");
        assert_eq!(indexer.pass().expect("a pass"), 37);
        check_reads(&reader, &reference(&batches[1]), "a new log, indexed");
    }

    #[test]
    fn events_that_took_the_places_of_lost_ones_have_the_index_made_again() {
        let dir = tempdir();
        let batches = feed(120);
        let mut stored = Vec::new();
        {
            let mut log = Store::open(&dir).expect("opens");
            for batch in &batches[..2] {
                log.append(batch, "t").expect("appends");
                stored.extend(batch.iter().cloned());
            }
            assert_eq!(catch_up(&dir).expect("catches up"), 74);
        }
        // A power cut takes the log's last 30 events, and an import appends others (other
        // entities, other times) in their places before the server starts again.
        let raw = Connection::open(dir.join(DB_FILE)).expect("opens");
        raw.execute("DELETE FROM events WHERE gseq > 44", []).expect("deletes");
        stored.truncate(44);
        let mut log = Store::open(&dir).expect("opens");
        let others: Vec<Located> = (0..40)
            .map(|i| reading("z", 50_000 + i, &format!("t{}", i % 3), "2026-11-22T07:00:00+08:00"))
            .collect();
        log.append(&others, "t").expect("appends");
        stored.extend(others);
        assert_eq!(catch_up(&dir).expect("made again"), 84, "the whole log indexed again");
        let reader = Store::open_side(&dir).expect("a reader");
        check_reads(&reader, &reference(&stored), "after the import");
        let t = |s: &str| Timestamp::parse(s).expect("time");
        let h = reader.history("section:t1", t("2026-11-21T00:00:00Z"), t("2026-11-23T00:00:00Z"), 100);
        assert_eq!(h.expect("history").len(), 13);
    }
}
