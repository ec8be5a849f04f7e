//! The audit trail (DESIGN §4, §6): one append-only table of every write — who, what, when, from
//! where — and of every step of every alert, the rules' own included.
//!
//! The table lives in the same SQLite file as the event log but is never pruned by retention, and
//! SQLite triggers refuse any `UPDATE` or `DELETE` on it, so no code path (and no API, which only
//! ever appends, through [`Trail::append`] or, for ingest, in the log writer's own transaction)
//! can alter what was written. Each entry is on disk before the write it records is answered:
//! committed with `synchronous = FULL`, or, for ingest, synced with its batch before the batch
//! is (`store::Store::defer_sync`). The state of every alert is the
//! fold of its entries (`alerts::Book::restore`), so the trail is also how alerts survive a restart.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{DB_FILE, StoreError};

pub use yiping_protocol::api::AuditEntry as Entry;

/// Note, within a transaction that writes to the trail what came of the log stream's message
/// `seq`, that the trail has it ([`Trail::alerts_position`]).
pub fn note_position(conn: &rusqlite::Connection, seq: u64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('alerts_stream_seq', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER)",
        [seq.to_string()],
    )
    .map(drop)
}

/// A new entry: everything but its position.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewEntry {
    /// See [`Entry::time`].
    pub time: String,
    /// See [`Entry::actor`].
    pub actor: String,
    /// See [`Entry::role`].
    pub role: String,
    /// See [`Entry::addr`].
    pub addr: String,
    /// See [`Entry::action`].
    pub action: String,
    /// See [`Entry::target`].
    pub target: String,
    /// See [`Entry::comment`].
    pub comment: String,
    /// See [`Entry::body`].
    pub body: serde_json::Value,
}

impl NewEntry {
    /// The entry as stored at position `seq`.
    pub fn stored(self, seq: u64) -> Entry {
        Entry {
            seq,
            time: self.time,
            actor: self.actor,
            role: self.role,
            addr: self.addr,
            action: self.action,
            target: self.target,
            comment: self.comment,
            body: self.body,
        }
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only entries after this position.
    pub after: u64,
    /// Only entries whose action starts with this (`alert.`).
    pub action_prefix: Option<String>,
    /// Only entries about this target.
    pub target: Option<String>,
    /// At most this many (oldest first).
    pub limit: Option<usize>,
}

/// The query of [`Trail::scan`] for `filter`, and its arguments. Each filter reads through an
/// index (an action prefix through `trail_action`, a target through `trail_target`), so reading
/// the alerts' steps costs what they are, not what the whole trail is: a trail that grows with
/// presenting and logins (millions of entries) would otherwise be read in full by every replay's
/// seek and every start, under the trail's lock that every audited action waits for.
fn scan_query(filter: &Filter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql =
        String::from("SELECT seq, time, actor, role, addr, action, target, comment, body FROM trail");
    let after = i64::try_from(filter.after).unwrap_or(i64::MAX);
    let mut args = vec![Value::Integer(after)];
    let mut cond = String::from(" WHERE seq > ?1");
    if let Some(prefix) = filter.action_prefix.as_deref().filter(|p| !p.is_empty()) {
        // Every action with the prefix lies in [prefix, prefix with its last character raised
        // by one).
        let mut upper: Vec<char> = prefix.chars().collect();
        let last = upper.pop().map_or(0, u32::from);
        upper.push(char::from_u32(last + 1).unwrap_or(char::MAX));
        sql.push_str(" INDEXED BY trail_action");
        cond.push_str(" AND action >= ?2 AND action < ?3");
        args.push(Value::Text(prefix.to_owned()));
        args.push(Value::Text(upper.into_iter().collect()));
    }
    if let Some(t) = &filter.target {
        args.push(Value::Text(t.clone()));
        cond.push_str(&format!(" AND target = ?{}", args.len()));
    }
    let limit = filter.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    args.push(Value::Integer(limit));
    sql.push_str(&cond);
    sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", args.len()));
    (sql, args)
}

/// The trail, with the users and sessions tables of [`crate::auth`] in the same connection.
#[derive(Debug)]
pub struct Trail {
    pub(crate) conn: Connection,
    path: String,
}

impl Trail {
    /// Open (and create) the trail in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Trail, StoreError> {
        let path = data_dir.join(DB_FILE);
        let p = path.display().to_string();
        let e = |source| StoreError::Sqlite { path: p.clone(), source };
        let conn = Connection::open(&path).map_err(e)?;
        crate::store::new_log_pages(&conn).map_err(e)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS trail (
                 seq INTEGER PRIMARY KEY,
                 time TEXT NOT NULL,
                 actor TEXT NOT NULL,
                 role TEXT NOT NULL,
                 addr TEXT NOT NULL,
                 action TEXT NOT NULL,
                 target TEXT NOT NULL,
                 comment TEXT NOT NULL,
                 body TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS trail_target ON trail (target, seq);
             CREATE INDEX IF NOT EXISTS trail_action ON trail (action, seq);
             CREATE TRIGGER IF NOT EXISTS trail_no_update BEFORE UPDATE ON trail
                 BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
             CREATE TRIGGER IF NOT EXISTS trail_no_delete BEFORE DELETE ON trail
                 BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
        )
        .map_err(e)?;
        crate::store::wal_limits(&conn).map_err(e)?;
        crate::auth::create_tables(&conn).map_err(e)?;
        crate::storylines::create_tables(&conn).map_err(e)?;
        Ok(Trail { conn, path: p })
    }

    /// The connection (the users and sessions of [`crate::auth`] live here too).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    /// Append an entry; returns its position once it is committed.
    pub fn append(&self, e: &NewEntry) -> Result<u64, StoreError> {
        append_in(&self.conn, e).map_err(|s| self.err(s))
    }

    /// Append several entries in one transaction; returns their positions once committed.
    pub fn append_all(&self, entries: &[NewEntry]) -> Result<Vec<u64>, StoreError> {
        self.append_all_at(entries, None)
    }

    /// [`Trail::append_all`]; with `stream_seq`, the entries came of the log stream's message
    /// `stream_seq` ([`crate::cluster`]), and the trail notes it in the same transaction
    /// ([`Trail::alerts_position`]).
    pub fn append_all_at(
        &self,
        entries: &[NewEntry],
        stream_seq: Option<u64>,
    ) -> Result<Vec<u64>, StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|s| self.err(s))?;
        let mut seqs = Vec::with_capacity(entries.len());
        for e in entries {
            seqs.push(self.append(e)?);
        }
        if let Some(seq) = stream_seq {
            note_position(&tx, seq).map_err(|s| self.err(s))?;
        }
        tx.commit().map_err(|s| self.err(s))?;
        Ok(seqs)
    }

    /// The last message of the log stream whose entries are in the trail (0: none): alert
    /// steps, and changes to sessions and tokens ([`crate::changes`]). A message at or before
    /// it was taken already, and is not taken again when the stream is applied again after a
    /// restart.
    pub fn alerts_position(&self) -> Result<u64, StoreError> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'alerts_stream_seq'", [], |r| r.get(0))
            .optional()
            .map_err(|s| self.err(s))?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// The newest position (0 when empty).
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let n: Option<i64> = self
            .conn
            .query_row("SELECT MAX(seq) FROM trail", [], |r| r.get(0))
            .optional()
            .map_err(|s| self.err(s))?
            .flatten();
        Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// Read entries, oldest first, calling `f` for each (stops early when `f` says so).
    pub fn scan(&self, filter: &Filter, mut f: impl FnMut(Entry) -> bool) -> Result<(), StoreError> {
        let (sql, args) = scan_query(filter);
        let mut st = self.conn.prepare(&sql).map_err(|s| self.err(s))?;
        let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(|s| self.err(s))?;
        while let Some(r) = rows.next().map_err(|s| self.err(s))? {
            let seq: i64 = r.get(0).map_err(|s| self.err(s))?;
            let body: String = r.get(8).map_err(|s| self.err(s))?;
            let body = serde_json::from_str(&body).map_err(|err| StoreError::Corrupt {
                path: self.path.clone(),
                gseq: u64::try_from(seq).unwrap_or(0),
                message: format!("audit trail entry {seq}: body is not JSON: {err}"),
            })?;
            let get = |i| r.get::<_, String>(i).map_err(|s| self.err(s));
            let entry = Entry {
                seq: u64::try_from(seq).unwrap_or(0),
                time: get(1)?,
                actor: get(2)?,
                role: get(3)?,
                addr: get(4)?,
                action: get(5)?,
                target: get(6)?,
                comment: get(7)?,
                body,
            };
            if !f(entry) {
                break;
            }
        }
        Ok(())
    }

    /// Read entries into a vector.
    pub fn list(&self, filter: &Filter) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        self.scan(filter, |e| {
            out.push(e);
            true
        })?;
        Ok(out)
    }
}

/// Append an entry on `conn` (the trail's connection, or a transaction on it that also writes
/// what the entry records); returns its position.
pub(crate) fn append_in(conn: &Connection, e: &NewEntry) -> rusqlite::Result<u64> {
    conn.execute(
        "INSERT INTO trail (time, actor, role, addr, action, target, comment, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![e.time, e.actor, e.role, e.addr, e.action, e.target, e.comment, e.body.to_string()],
    )?;
    Ok(u64::try_from(conn.last_insert_rowid()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, target: &str) -> NewEntry {
        NewEntry {
            time: "2026-12-03T08:00:00Z".into(),
            actor: "duty1".into(),
            role: "duty".into(),
            addr: "127.0.0.1".into(),
            action: action.into(),
            target: target.into(),
            comment: "seen".into(),
            body: serde_json::json!({"k": 1}),
        }
    }

    #[test]
    fn entries_append_in_order_survive_reopen_and_cannot_be_changed_or_deleted() {
        let dir = crate::store::tests::tempdir();
        let t = Trail::open(&dir).expect("opens");
        assert_eq!(t.append(&entry("alert.raise", "A1")).expect("appends"), 1);
        assert_eq!(t.append(&entry("alert.acknowledge", "A1")).expect("appends"), 2);
        assert_eq!(t.append(&entry("login", "duty1")).expect("appends"), 3);
        drop(t);
        let t = Trail::open(&dir).expect("reopens");
        assert_eq!(t.last_seq().expect("reads"), 3);
        let alerts =
            t.list(&Filter { action_prefix: Some("alert.".into()), ..Default::default() }).expect("reads");
        assert_eq!(alerts.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(alerts[1].action, "alert.acknowledge");
        assert_eq!(alerts[1].body, serde_json::json!({"k": 1}));
        // Even SQL on the same connection cannot rewrite or remove an entry.
        let upd = t.conn.execute("UPDATE trail SET actor = 'someone else' WHERE seq = 1", []);
        assert!(upd.is_err_and(|e| e.to_string().contains("append-only")));
        let del = t.conn.execute("DELETE FROM trail WHERE seq = 2", []);
        assert!(del.is_err_and(|e| e.to_string().contains("append-only")));
        assert_eq!(t.list(&Filter::default()).expect("reads").len(), 3);
        assert_eq!(t.list(&Filter { after: 2, ..Default::default() }).expect("reads")[0].action, "login");
    }

    #[test]
    fn filters_read_through_indexes_and_find_exactly_their_entries() {
        let dir = crate::store::tests::tempdir();
        let t = Trail::open(&dir).expect("opens");
        let mut all = Vec::new();
        for i in 0..300 {
            all.push(entry(
                if i % 100 == 7 { "alert.raise" } else { "present.pointer" },
                &format!("A{}", i % 3),
            ));
        }
        all.push(entry("alerts", "A0"));
        all.push(entry("alert/x", "A0"));
        t.append_all(&all).expect("appends");
        let seqs = |f: Filter| t.list(&f).expect("reads").iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(Filter { action_prefix: Some("alert.".into()), ..Default::default() }),
            [8, 108, 208]
        );
        assert_eq!(
            seqs(Filter { action_prefix: Some("alert.".into()), after: 8, ..Default::default() }),
            [108, 208]
        );
        assert_eq!(
            seqs(Filter {
                action_prefix: Some("alert.".into()),
                target: Some("A1".into()),
                ..Default::default()
            }),
            [8]
        );
        assert_eq!(
            seqs(Filter { action_prefix: Some("alert".into()), limit: Some(2), ..Default::default() }),
            [8, 108]
        );
        assert_eq!(seqs(Filter { target: Some("A2".into()), limit: Some(2), ..Default::default() }), [3, 6]);
        // The plans: an index for each filter, never a pass over the whole table for a prefix.
        let plan = |f: &Filter| {
            let (sql, args) = scan_query(f);
            let mut st = t.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plans");
            let rows = st
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .expect("plans")
                .collect::<Result<Vec<_>, _>>()
                .expect("plan rows");
            rows.join("; ")
        };
        let p = plan(&Filter { action_prefix: Some("alert.".into()), after: 5, ..Default::default() });
        assert!(
            p.contains("USING INDEX trail_action") || p.contains("USING COVERING INDEX trail_action"),
            "{p}"
        );
        let p = plan(&Filter { target: Some("A1".into()), ..Default::default() });
        assert!(p.contains("trail_target"), "{p}");
    }
}
