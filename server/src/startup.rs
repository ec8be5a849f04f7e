//! Start-up: the state rebuilt from the log. The fold from its latest snapshot and the events
//! after it (deltas older than the resume window are folded quietly), the topic streams at the
//! log's sequence numbers, the alert book from the audit trail; then the one writer starts.

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use time::OffsetDateTime;
use yiping_protocol::topics::{self, OVERVIEW};

use crate::fold::{self, Fold};
use crate::hub::{self, Hub};
use crate::ingest::Ingestor;
use crate::places::Places;
use crate::state::{AppState, Clock, LogOptions};
use crate::store::Store;
use crate::timeline::Timeline;
use crate::{alerts, api, auth, metrics, trail};

/// Open the log in `data_dir` (kept for `places`' root region) and rebuild the state from it.
pub(crate) fn rebuild(
    data_dir: &Path,
    log: LogOptions,
    rules: alerts::Rules,
    access: auth::Access,
    places: Arc<Places>,
    title: Option<String>,
    stream_epoch: Option<&str>,
) -> anyhow::Result<Arc<AppState>> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", data_dir.display()))?;
    let mut store = Store::open(data_dir)?;
    match stream_epoch {
        Some(epoch) => store.join_stream(epoch).map_err(anyhow::Error::msg)?,
        None => {
            if let Some((stream, _)) = store.stream_position()? {
                anyhow::bail!(
                    "this data folder is a copy of the NATS log stream of epoch {stream}: start it with \
                     the same `nats` server (or start on another data folder)"
                );
            }
        }
    }
    store.claim_places(&places).map_err(anyhow::Error::msg)?;
    let reader = Store::open(data_dir)?;
    let t0 = Instant::now();
    let epoch = store.epoch().to_owned();
    // The overview is recomputed, not logged: its stream is per server run.
    let run = format!("{:x}", OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000);
    let snapshot = store.latest_snapshot()?;
    let (after, mut fold, start_seqs) = match snapshot {
        Some((gseq, seqs, body)) => match fold::FoldSnapshot::read(&body) {
            Some(snap) => (gseq, Fold::from_snapshot(places.clone(), snap), seqs),
            // A snapshot of an older format: replay the whole log while it is whole; else carry
            // what an older format can give over (the regions' histories stay unknown).
            None if store.first_gseq()? == Some(1) || gseq == 0 => {
                (0, Fold::new(places.clone()), Default::default())
            }
            None => match fold::FoldSnapshot::read_older(&body) {
                Some(snap) => {
                    tracing::warn!("snapshot of format 3 carried over: the regions' trends start empty");
                    (gseq, Fold::from_snapshot(places.clone(), snap), seqs)
                }
                None => anyhow::bail!(
                    "event log: the snapshot at event {gseq} is of an older format and retention has \
                     deleted the events before it, so the state cannot be rebuilt"
                ),
            },
        },
        None => (0, Fold::new(places.clone()), Default::default()),
    };
    let mut streams = vec![(OVERVIEW, format!("{epoch}.{run}"), 0)];
    for (t, _) in topics::ALL.iter().skip(1) {
        streams.push((*t, epoch.clone(), start_seqs.get(*t).copied().unwrap_or(0)));
    }
    // Alerts come from the trail, not the event log: a fresh stream per run, like the overview.
    streams.push((topics::ALERTS, format!("{epoch}.{run}.alerts"), 0));
    let hub = Hub::new(&streams);
    fold.expected_s = rules.freshness.by_topic();
    let trail = trail::Trail::open(data_dir)?;
    let mut book = alerts::Book::new(rules, places.clone());
    book.seed(&fold.entity_states());
    // Deltas older than the resume window can never be sent: fold them quietly.
    let window = hub::RESUME_WINDOW as u64;
    let keep_from = |topic: &str| store.topic_seqs().get(topic).map_or(0, |last| last.saturating_sub(window));
    let replayed = store.replay_with_voids(
        after,
        |ev| {
            let change = if ev.tseq <= keep_from(&ev.topic) {
                let change = fold.apply_quiet(&ev.event, &ev.adcode);
                hub.skip(change.topic);
                change
            } else {
                let change = fold.apply(&ev.event, &ev.adcode);
                let time = fold.topic_time_text(change.topic);
                hub.publish(change.topic, &time, &change.delta);
                change
            };
            // The rules learn the state the wall shows: not from a late report.
            if change.newest {
                book.learn(&ev.event, &ev.adcode);
            }
        },
        |topic| {
            hub.skip(topic);
        },
    )?;
    for (t, seq) in store.topic_seqs() {
        if t != OVERVIEW && hub.seq(t) != *seq {
            anyhow::bail!("event log: topic {t} replayed to seq {} but the log says {seq}", hub.seq(t));
        }
    }
    let mut restored = 0;
    trail.scan(&trail::Filter { action_prefix: Some("alert.".into()), ..Default::default() }, |e| {
        book.apply(&e);
        restored += 1;
        true
    })?;
    tracing::info!(
        alert_steps = restored,
        events = replayed,
        ms = t0.elapsed().as_millis() as u64,
        "state rebuilt from the event log"
    );
    let (places_for_timeline, expected_s) = (places.clone(), fold.expected_s.clone());
    let state = Arc::new(AppState {
        hub,
        fold: Mutex::new(fold),
        places,
        scoped_overviews: Mutex::default(),
        title,
        reader: Mutex::new(reader),
        ingestor: OnceLock::new(),
        cluster: OnceLock::new(),
        metrics: metrics::Metrics::default(),
        started: Instant::now(),
        clients: AtomicUsize::new(0),
        ingest_slots: Arc::new(tokio::sync::Semaphore::new(api::MAX_INGEST_REQUESTS)),
        trail: Mutex::new(trail),
        book: Mutex::new(book),
        access,
        limiter: auth::Limiter::default(),
        source_limits: crate::sources::RateLimiter::default(),
        clock: Clock::default(),
        log,
        timeline: Arc::new(
            Timeline::new(data_dir, places_for_timeline, expected_s).with_retention(log.retain_days),
        ),
        replays: AtomicUsize::new(0),
        periods: Mutex::new(None),
        walls: crate::present::Walls::default(),
        local_addr: std::sync::OnceLock::new(),
    });
    let ingestor = Ingestor::start(store, state.clone(), log, after);
    state.ingestor.set(ingestor).expect("the ingestor is set once, here");
    Ok(state)
}
