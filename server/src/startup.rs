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
use crate::store::{Replayed, Store};
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
    crate::logindex::catch_up(data_dir)?;
    let reader = Store::open_side(data_dir)?;
    let t0 = Instant::now();
    let epoch = store.epoch().to_owned();
    // The overview is recomputed, not logged: its stream is per server run.
    let run = format!("{:x}", OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000);
    let snapshot = store.latest_snapshot()?;
    let mut memory = None;
    let (after, mut fold, start_seqs) = match snapshot {
        Some((gseq, seqs, body)) => match fold::FoldSnapshot::read(&body) {
            Some(mut snap) => {
                memory = snap.rules.take();
                (gseq, Fold::from_snapshot(places.clone(), snap), seqs)
            }
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
    let themes = format!("{epoch}.{}", hub::SEQS_PER_BATCH);
    for (t, _) in topics::ALL.iter().skip(1) {
        streams.push((*t, themes.clone(), start_seqs.get(*t).copied().unwrap_or(0)));
    }
    // Alerts come from the trail, not the event log: a fresh stream per run, like the overview.
    streams.push((topics::ALERTS, format!("{epoch}.{run}.alerts"), 0));
    let hub = Hub::new(&streams);
    fold.expected_s = rules.freshness.by_topic();
    let trail = trail::Trail::open(data_dir)?;
    let mut book = alerts::Book::new(rules, places.clone());
    // What the rules remembered at the snapshot, else what the fold's latest reports tell.
    match memory.map(serde_json::from_value::<alerts::Memory>) {
        Some(Ok(m)) => book.remember(m),
        Some(Err(e)) => {
            tracing::warn!(
                "what the alert rules remembered is unreadable ({e}): they start from the latest reports"
            );
            book.seed(&fold.entity_states());
        }
        None => book.seed(&fold.entity_states()),
    }
    // Deltas older than the resume window can never be sent: fold them quietly. The events of
    // a topic that share a seq came in one batch and went out as one delta: they are folded
    // together, and the delta is made when the topic's next batch begins (or the log ends), from
    // the state they left, as it was made live (a topic's state is changed by its events alone).
    // The window is made of the newest events only: a batch can be large (an import writes
    // 10,000 events at a time), and deltas the window's bytes would drop at once are not worth
    // making. A batch not wholly among the newest [`hub::REPLAY_EVENTS`] is folded quietly too.
    let window = hub::RESUME_WINDOW as u64;
    let cut = store.oldest_seqs_among_newest(after, hub::REPLAY_EVENTS)?;
    let keep_from = |topic: &str| {
        let last = store.topic_seqs().get(topic).copied().unwrap_or(0);
        let by_events = if cut.is_empty() { 0 } else { cut.get(topic).copied().unwrap_or(last) };
        last.saturating_sub(window).max(by_events)
    };
    let mut batches: Vec<ReplayBatch> = Vec::new();
    let replayed = store.replay_with_voids(after, |entry| {
        let (topic, tseq) = match &entry {
            Replayed::Event(ev) => (ev.topic.as_str(), ev.tseq),
            Replayed::Void { topic, tseq } => (topic.as_str(), *tseq),
        };
        let i = match batches.iter().position(|b| b.topic == topic) {
            Some(i) if batches[i].tseq == tseq => i,
            Some(i) => {
                let quiet = tseq <= keep_from(topic);
                let done = std::mem::replace(&mut batches[i], ReplayBatch::new(topic, tseq, quiet));
                done.publish(&fold, &hub);
                i
            }
            None => {
                batches.push(ReplayBatch::new(topic, tseq, tseq <= keep_from(topic)));
                batches.len() - 1
            }
        };
        if let Replayed::Event(ev) = entry {
            let change = match &mut batches[i].touched {
                Some(touched) => fold.apply_noting(&ev.event, &ev.adcode, touched),
                None => fold.apply_quiet(&ev.event, &ev.adcode),
            };
            // The rules learn the state the wall shows: not from a late report.
            if change.newest {
                book.learn(&ev.event, &ev.adcode);
            }
        }
    })?;
    for b in batches {
        b.publish(&fold, &hub);
    }
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
        conns: crate::fanout::Conns::default(),
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
        fanout: std::sync::OnceLock::new(),
    });
    let ingestor = Ingestor::start(store, state.clone(), log, after);
    state.ingestor.set(ingestor).expect("the ingestor is set once, here");
    Ok(state)
}

/// A topic's batch being replayed at start-up: its seq, and what its events changed (`None`:
/// older than the resume window, folded quietly).
struct ReplayBatch {
    topic: String,
    tseq: u64,
    touched: Option<fold::Touched>,
}

impl ReplayBatch {
    fn new(topic: &str, tseq: u64, quiet: bool) -> ReplayBatch {
        ReplayBatch { topic: topic.to_owned(), tseq, touched: (!quiet).then(fold::Touched::default) }
    }

    /// Its delta, into the hub's resume window (an empty one if every event in it is void:
    /// the window holds every seq after its first); or, folded quietly, its seq skipped.
    fn publish(self, fold: &Fold, hub: &Hub) {
        // The log numbers the theme topics only, and `Fold::delta` makes each one's.
        match self.touched.and_then(|t| fold.delta(&self.topic, t)) {
            Some(delta) => {
                hub.publish(&self.topic, &fold.topic_time_text(&self.topic), &delta);
            }
            None => {
                hub.skip(&self.topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use yiping_protocol::instant::Timestamp;

    use crate::state::{AppState, LogOptions};
    use crate::store::{Located, Store};
    use crate::sync::OrPoisoned;

    fn reading(state: &AppState, id: &str, minutes_ago: i64, nh3n: f64) -> Located {
        let time = Timestamp::now().plus_s(-minutes_ago * 60);
        let line = format!(
            r#"{{"type":"water.reading","id":"{id}","time":"{time}","data":{{"section":"cj-yangsigang","ph":7.5,"do_mg_l":8.0,"codmn_mg_l":2.0,"nh3n_mg_l":{nh3n},"tp_mg_l":0.05}}}}"#
        );
        let event = yiping_protocol::events::parse_line(&line).expect("a reading");
        let adcode = state.places.locate(&event).expect("placed");
        Located::new(event, adcode)
    }

    fn line(state: &AppState, line: &str) -> Located {
        let event = yiping_protocol::events::parse_line(line).expect("a valid line");
        let adcode = state.places.locate(&event).expect("placed");
        Located::new(event, adcode)
    }

    /// Every delta a theme topic's resume window holds, from its first seq on.
    fn window(state: &AppState, topic: &str) -> Vec<String> {
        let since = yiping_protocol::ResumePoint { epoch: state.hub.epoch(topic).to_owned(), seq: 0 };
        let sub = state.hub.subscribe(topic, Some(&since), || unreachable!("the window holds seq 1 on"));
        sub.initial.iter().map(|t| t.to_string()).collect()
    }

    #[tokio::test]
    async fn a_restart_rebuilds_the_resume_window_with_the_deltas_sent_live_byte_for_byte() {
        let dir = crate::store::tests::tempdir();
        let log = LogOptions { snapshot_every: u64::MAX, ..LogOptions::default() };
        let live = AppState::open_with(&dir, log).expect("opens");
        let problem = |id: &str, status: &str, minute: u32| {
            format!(
                r#"{{"type":"river.problem","id":"{id}","time":"2026-11-22T08:{minute:02}:00Z","data":{{"problem":"P1","river":"汉江","lon":114.2199,"lat":30.5797,"kind":"garbage","status":"{status}","found":"2026-11-22T08:00:00Z"}}}}"#
            )
        };
        let patrol = |id: &str, lon: f64, lat: f64| {
            format!(
                r#"{{"type":"river.patrol","id":"{id}","time":"2026-11-22T09:00:00Z","data":{{"patrol":"{id}","chief":"C1","chief_name":"张三","level":"county","river":"汉江","lon":{lon},"lat":{lat},"minutes":30}}}}"#
            )
        };
        // Batches with the topics interleaved: a problem found and closed in one batch, a
        // reading, patrols in two prefectures, a batch of a duplicate alone, a late report.
        let batches = [
            vec![problem("a1", "found", 0), patrol("a2", 114.2199, 30.5797), problem("a3", "closed", 5)],
            vec![patrol("b1", 111.29, 30.70), patrol("b2", 114.2199, 30.5797)],
            vec![patrol("b1", 111.29, 30.70)],
            vec![problem("c1", "found", 1), patrol("c2", 112.14, 32.04)],
        ];
        for b in &batches {
            let events: Vec<Located> = b.iter().map(|l| line(&live, l)).collect();
            live.submit(events, true).await.expect("stored");
        }
        live.submit(vec![reading(&live, "d1", 5, 0.2), reading(&live, "d2", 50, 0.3)], true)
            .await
            .expect("stored");
        let sent: Vec<Vec<String>> = ["rivers", "water"].iter().map(|t| window(&live, t)).collect();
        // One delta per batch that changed the topic: not for the duplicate's.
        assert_eq!((sent[0].len(), sent[1].len()), (3, 1), "{sent:?}");
        assert!(sent[0][0].contains(r#""status":"closed""#), "{}", sent[0][0]);
        drop(live);
        let restarted = AppState::open_with(&dir, log).expect("reopens");
        let rebuilt: Vec<Vec<String>> = ["rivers", "water"].iter().map(|t| window(&restarted, t)).collect();
        assert_eq!(rebuilt, sent);
    }

    #[tokio::test]
    async fn what_the_rules_remember_is_in_the_snapshot_and_survives_a_restart() {
        let dir = crate::store::tests::tempdir();
        let log = LogOptions { snapshot_every: 3, ..LogOptions::default() };
        let first = AppState::open_with(&dir, log).expect("opens");
        // A steady baseline of 0.2 mg/L, then 0.6 (+0.4: no spike); a snapshot after them.
        let mut events: Vec<Located> =
            (0..4).map(|i| reading(&first, &format!("r{i}"), 50 - i * 10, 0.2)).collect();
        events.push(reading(&first, "r4", 10, 0.6));
        first.submit(events, true).await.expect("stored");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Store::open(&dir).expect("opens").latest_snapshot().expect("reads").is_none_or(|s| s.0 < 5) {
            assert!(std::time::Instant::now() < deadline, "no snapshot after the readings");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(first.book.lock().or_poisoned().list().is_empty());
        drop(first);
        // Restarted on the folder: 0.95 is a spike against the baseline of about 0.32 the
        // readings before made (against the latest reading alone, 0.6, it would not be).
        let restarted = AppState::open_with(&dir, log).expect("reopens");
        restarted.submit(vec![reading(&restarted, "r5", 5, 0.95)], true).await.expect("stored");
        let book = restarted.book.lock().or_poisoned();
        let spikes: Vec<_> =
            book.list().into_iter().filter(|a| a.rule.as_str() == "spike").cloned().collect();
        assert_eq!(spikes.len(), 1, "{:?}", book.list());
        assert_eq!(spikes[0].data["baseline"], 0.32);
    }
}
