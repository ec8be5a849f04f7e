//! The yiping aggregator: a guided tour, in the order data flows (one way: source → log → fold
//! → topic streams → websocket → wall).
//!
//! 1. **Sources.** HTTP ingest ([`api::post_events`]: NDJSON lines, each checked and refused with
//!    its line, field and value), NATS JetStream ([`nats`], the same lines on `yiping.in.<source>`),
//!    file import and the [`simulator`]; every event is placed in a
//!    county ([`places`], with the monitoring [`stations`]).
//! 2. **The log.** [`ingest`] is the one writer: batches are stored in SQLite ([`store`]) and
//!    acknowledged only once durable; the event time is kept as an instant beside its text.
//!    The log's indexes by event time and by entity are kept beside it, behind the writer
//!    ([`logindex`]).
//!    With NATS configured, the log is a JetStream stream shared by several nodes ([`cluster`]):
//!    every write is a message first, and each node applies the stream to its SQLite copy;
//!    one node decides the alert rules' steps for all; a new node starts from a [`seed`].
//! 3. **The fold** ([`fold`]): the state and region aggregates, the newest fact by event time
//!    winning everywhere, snapshotted so start-up replays only what came after; [`audit`]
//!    recounts the figures from the raw log independently.
//! 4. **Publishing** ([`publish`]): each batch of stored events folded (one write of the log),
//!    one delta published per topic it changed, one overview update per batch, and the alert
//!    rules ([`alerts`]) observing each subject's newest report; alert steps go to the audit
//!    [`trail`] before they are published.
//!    [`timeline`] gives the state as of any past instant by event time (checkpoints at Beijing
//!    midnights, the log's index on event time) for time travel, and the regions' totals at
//!    every midnight, of which [`periods`] makes 今日/本周/本月/本年 with 环比 and 同比.
//! 5. **Streams** ([`hub`]): per-topic sequence numbers and a resume window, one shared frame
//!    per batch (at most one per topic every 50 ms); [`fanout`] writes each frame straight to
//!    every up-to-date connection over [`socket`] (from the one shared text), and [`ws`] runs
//!    each connection's conversation and catches up the others, on a runtime of their own
//!    ([`run::fanout_threads`]), or a [`replay`] of a past
//!    period to a wall that asked for one. [`present`] relays a presenter's console to a named wall and back;
//!    [`storylines`] keeps the presenters' bookmarked views; [`export`] renders what a wall
//!    shows to PNG and PDF with a headless Chromium.
//! 6. **HTTP** ([`web`] routes; [`api`] for events, regions, entities and history;
//!    [`session`] and [`auth`] for logins, roles and tokens; [`sources`] for the ingest
//!    sources' tokens and rate limits, both written through [`changes`]; [`error`] maps every failure to one
//!    status and message; [`metrics`]). Every answer's type is in `yiping_protocol::api`;
//!    [`openapi`] makes the OpenAPI 3.1 document of all of it from the handlers and those types.
//! 7. **Running it**: [`state`] holds the running server, [`startup`] rebuilds it from the log,
//!    [`site`] merges the configuration file, the environment and the flags, [`run`] has the loops
//!    beside the HTTP server and [`serve`]; [`sync`] names the lock idiom.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod cluster;
pub mod error;
pub mod export;
pub mod fanout;
pub mod fold;
pub mod hub;
pub mod ingest;
pub mod logindex;
pub mod metrics;
pub mod nats;
pub mod openapi;
pub mod periods;
pub mod places;
pub mod present;
pub mod publish;
pub mod replay;
pub mod run;
pub mod seed;
pub mod session;
pub mod simulator;
pub mod site;
pub mod socket;
pub mod sources;
pub mod startup;
pub mod state;
pub mod stations;
pub mod store;
pub mod storylines;
pub mod sync;
pub mod timeline;
pub mod trail;
pub mod web;
pub mod ws;

pub use run::{ALERT_TICK, Config, run_alert_clock, run_simulator, serve};
pub(crate) use state::now_rfc3339;
pub use state::{AppState, Clock, FUTURE_TOLERANCE_S, LogOptions};
