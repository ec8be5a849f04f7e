//! Changes to what a server keeps besides the event log and the alerts: users, sessions,
//! source tokens and rate limits, and the presenters' storylines, each with its entry in the audit
//! trail. This is the one place that
//! writes them. Without NATS a change is applied at once; with the log on NATS
//! ([`crate::cluster`]) it is a message of kind `change` that every node applies in stream
//! order, so a console whose node dies is still logged in on the next one, a token made on one
//! node is taken by every node, a storyline made on one is stepped through on any, and every
//! node's trail holds the same entries for them.
//!
//! A change carries what every node needs and nothing secret: a session's or token's SHA-256,
//! never the token, which only the node that made it shows, once. Applying a change again (a
//! node that stopped between writing it and noting its stream position) changes nothing more:
//! rows are inserted if absent, ends only move earlier, and the audit entry is written with the
//! trail's stream position, so it is not written twice.

use serde::{Deserialize, Serialize};
use yiping_protocol::instant::Timestamp;

use crate::error::AppError;
use crate::state::AppState;
use crate::sync::OrPoisoned;
use crate::trail::NewEntry;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Nothing but its audit entry (a refused login).
    Audit,
    /// A session starts.
    SessionStart {
        /// Its token's SHA-256 (hex).
        hash: String,
        /// Whose.
        user: String,
        /// Until when (unix s).
        expires: i64,
        /// From where.
        addr: String,
    },
    /// A session ends (logout).
    SessionEnd {
        /// Its token's SHA-256 (hex).
        hash: String,
    },
    /// A new ingest token.
    TokenAdd {
        /// Its SHA-256 (hex).
        hash: String,
        /// The source it is for.
        source: String,
        /// When the source's other tokens end (unix s; a rotation), if they do.
        others_end: Option<i64>,
    },
    /// A token ends, unless it ends sooner.
    TokenEnd {
        /// Its whole id (its SHA-256), found by the node that took the request.
        id: String,
        /// When (unix s).
        at: i64,
    },
    /// A storyline made (`id` none), changed, or deleted (`storyline` none); its audit entry
    /// is the storyline's own ([`crate::storylines`]), made with who and from where.
    Storyline {
        /// `storyline.create`, `.update`, `.delete` or `.import`.
        action: String,
        /// Which.
        id: Option<u64>,
        /// As it should be.
        storyline: Option<yiping_protocol::present::Storyline>,
    },
    /// A user added (with `yiping user add --nats`).
    UserAdd {
        /// Who, with the password's hash.
        user: crate::auth::NewUser,
    },
    /// A user disabled (their sessions end) or enabled again.
    UserDisabled {
        /// Who.
        name: String,
        /// Disabled, or enabled again.
        disabled: bool,
    },
    /// A source's rate limit.
    Rate {
        /// The source.
        source: String,
        /// Events a second (`None`: lifted).
        rate: Option<f64>,
    },
}

/// A change and its audit entry (whose time is the change's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changing {
    /// The change.
    pub change: Change,
    /// Its entry in the audit trail.
    pub audit: NewEntry,
}

/// What applying a change gave.
#[derive(Debug)]
pub enum Changed {
    /// Done.
    Done,
    /// A token ended: its source and whole id.
    TokenEnded {
        /// The source.
        source: String,
        /// The token's whole id.
        id: String,
    },
    /// The storyline as stored (none: deleted).
    Storyline(Option<yiping_protocol::present::Storyline>),
}

impl AppState {
    /// Make a change with its audit entry: through the log stream when there is one (every
    /// node applies it; this one answers once it has), else here and now.
    pub(crate) async fn change(&self, change: Change, audit: NewEntry) -> Result<Changed, AppError> {
        let time = self.clock.now();
        let changing = Changing { change, audit };
        match self.cluster.get() {
            Some(c) => c.change(&changing, time).await,
            None => self.apply_change(&changing, time, None),
        }
    }

    /// Apply a change as of `time`; `stream_seq`: the log stream's message it came in, noted
    /// in the trail with its audit entry.
    pub(crate) fn apply_change(
        &self,
        c: &Changing,
        time: Timestamp,
        stream_seq: Option<u64>,
    ) -> Result<Changed, AppError> {
        let created = time.to_string();
        let internal = |e: crate::auth::AuthError| AppError::Internal(e.to_string());
        let refused = |e: crate::auth::AuthError| match e {
            crate::auth::AuthError::Invalid(m) => AppError::BadRequest(m),
            other => AppError::Internal(other.to_string()),
        };
        let mut audit = c.audit.clone();
        let changed = match &c.change {
            Change::Audit => Changed::Done,
            // The storyline's audit entry is written with it, in one transaction.
            Change::Storyline { action, id, storyline } => {
                let s = crate::storylines::apply(
                    self,
                    &c.audit,
                    action,
                    *id,
                    storyline.as_ref(),
                    time,
                    stream_seq,
                )?;
                return Ok(Changed::Storyline(s));
            }
            Change::SessionStart { hash, user, expires, addr } => {
                let trail = self.trail.lock().or_poisoned();
                crate::auth::store_session(trail.connection(), hash, user, &created, *expires, addr)
                    .map_err(internal)?;
                Changed::Done
            }
            Change::UserAdd { user } => {
                let trail = self.trail.lock().or_poisoned();
                let conn = trail.connection();
                // Added already by this very change (taken again after its audit entry failed).
                let again = crate::auth::find_user(conn, &user.name)
                    .map_err(internal)?
                    .is_some_and(|(_, hash)| hash == user.hash);
                if !again {
                    crate::auth::insert_user(conn, user, &created).map_err(refused)?;
                }
                Changed::Done
            }
            Change::UserDisabled { name, disabled } => {
                let trail = self.trail.lock().or_poisoned();
                crate::auth::set_disabled(trail.connection(), name, *disabled).map_err(refused)?;
                Changed::Done
            }
            Change::SessionEnd { hash } => {
                let trail = self.trail.lock().or_poisoned();
                crate::auth::end_session_hashed(trail.connection(), hash).map_err(internal)?;
                Changed::Done
            }
            Change::TokenAdd { hash, source, others_end } => {
                self.reader.lock().or_poisoned().add_token(hash, source, &created, *others_end)?;
                Changed::Done
            }
            Change::TokenEnd { id, at } => {
                let (source, id) =
                    self.reader.lock().or_poisoned().revoke_token(id, *at)?.map_err(AppError::NotFound)?;
                audit.target.clone_from(&source);
                audit.body = serde_json::json!({ "id": id });
                Changed::TokenEnded { source, id }
            }
            Change::Rate { source, rate } => {
                self.reader.lock().or_poisoned().set_source_rate(source, *rate)?;
                Changed::Done
            }
        };
        audit.time = created;
        if audit.body.is_null() {
            audit.body = serde_json::json!({});
        }
        self.trail.lock().or_poisoned().append_all_at(&[audit], stream_seq)?;
        Ok(changed)
    }
}
