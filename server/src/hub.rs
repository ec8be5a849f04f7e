//! Topic streams: epoch, per-topic seq, recent deltas and frames for resume, and the frames the
//! fan-out sends.
//!
//! Each delta is serialised to its wire text once, when it is published. Soon after a publish
//! ([`GATHER`], so that a batch's deltas travel together) the hub closes each topic's pending
//! deltas into one [`Frame`] (a `batch`, or the delta alone) whose text is shared (`Arc`) by every
//! subscriber: steady-state fan-out costs no per-client serialisation or copying. Frames are at
//! least [`MIN_GAP`] apart, so a busy stream costs every client a bounded number of writes a
//! second, and a quiet one is sent at once, not at the next tick (the fan-out flushes the hub,
//! see `fanout::flush`, and writes the frames, `fanout::sweep`). Each topic keeps its epoch and
//! seq, a bounded ring of its most recent deltas ([`RESUME_WINDOW`], [`RESUME_BYTES`]) for
//! clients that resume, and of its most recent frames ([`FRAMES_KEPT`], [`FRAMES_BYTES`]) for
//! clients that fell behind; snapshots are made from the fold on demand. Publishing and
//! subscribing take the topic's lock, so a subscriber gets a consistent starting point (a
//! snapshot at seq N, or the deltas after its resume point up to N) and then the frames carrying
//! everything after N: no gap, no duplicate (a frame that straddles N is trimmed from the ring,
//! see [`Hub::catch_up`]). A subscriber that falls behind catches up from the kept frames (the
//! same shared texts), from the delta ring, or, further behind, from a fresh snapshot (see
//! `ws`), so one slow client never holds memory or delays others.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::sync::OrPoisoned;
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use yiping_protocol::{ResumePoint, ServerMsg, Update};

/// How the theme topics' seqs are numbered, in their epoch (`{log's epoch}.b`): one delta per
/// batch of events. Before, each event had its own seq under the log's epoch alone, so a client
/// (or a cluster node not yet upgraded) resuming across the change gets a snapshot, never
/// deltas numbered the other way.
pub const SEQS_PER_BATCH: &str = "b";
/// How many recent deltas each topic keeps for clients that resume or lag, at most.
pub const RESUME_WINDOW: usize = 8192;
/// From how many of the log's newest events start-up rebuilds the resume windows, at most (see
/// `startup`).
pub const REPLAY_EVENTS: usize = 100_000;
/// How many bytes of recent deltas each topic keeps, at most (a delta carries a whole batch's
/// changes, and batches can be large): the oldest go first, though the newest is always kept.
pub const RESUME_BYTES: usize = 8 << 20;
/// How many recent frames each topic keeps for clients that fell behind (at most one frame per
/// [`MIN_GAP`]: about 3 s), sent to them as they were made.
pub const FRAMES_KEPT: usize = 64;
/// How many bytes of recent frames each topic keeps, at most (a frame can carry large batches):
/// the oldest go first, though the newest is always kept. A client behind the oldest kept frame
/// is caught up from the deltas of the resume window instead.
pub const FRAMES_BYTES: usize = 8 << 20;
/// How long after the first pending delta the hub waits for the rest of its batch before it
/// sends the frame.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(2);
/// The least time between two frames: what arrives meanwhile goes in the next.
pub const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(50);
/// Largest frame the hub builds for a catch-up, bytes: a long catch-up goes out as several.
const MAX_FRAME_BYTES: usize = 1 << 20;

/// One flush's deltas of a topic, ready to send: seqs from `first` to `last`, in order. (Every
/// one of them, but for deltas published while nobody watched the topic, which no subscriber can
/// be before: see [`Topic::watchers`].)
#[derive(Debug)]
pub struct Frame {
    /// First seq in the frame.
    pub first: u64,
    /// Last seq in the frame.
    pub last: u64,
    /// The wire text: the delta alone, or a `batch` of them (shared, never copied per client).
    pub text: Utf8Bytes,
}

/// A published delta: its seq and its wire text (`{"type":"delta",…}`).
#[derive(Debug)]
pub struct Delta {
    /// Seq in the topic.
    pub seq: u64,
    /// The serialised [`ServerMsg::Delta`].
    pub text: Arc<str>,
}

#[derive(Debug)]
struct TopicInner {
    seq: u64,
    recent: VecDeque<Arc<Delta>>,
    /// The bytes of `recent`'s texts.
    recent_bytes: usize,
    pending: Vec<Arc<Delta>>,
    /// The last seq closed into a frame (at start, the seq the hub started at).
    flushed: u64,
    /// The newest frames, oldest first.
    frames: VecDeque<Arc<Frame>>,
    /// The bytes of `frames`' texts.
    frames_bytes: usize,
}

#[derive(Debug)]
struct Topic {
    name: String,
    epoch: String,
    inner: Mutex<TopicInner>,
    /// Held by every subscription: deltas are gathered into frames only while someone holds one.
    watchers: Arc<()>,
}

/// All topic streams.
#[derive(Debug)]
pub struct Hub {
    /// Topics by their index (see [`Hub::index`]).
    topics: Vec<Topic>,
    index: HashMap<String, usize>,
    /// Woken by a publish that has someone to send to (see [`Hub::wait_pending`]).
    pending: tokio::sync::Notify,
    /// When the oldest delta waiting for a frame was published.
    pending_since: Mutex<Option<tokio::time::Instant>>,
}

/// What a new subscriber starts from.
#[derive(Debug)]
pub struct Subscription {
    /// The topic's index in the hub.
    pub topic: usize,
    /// Wire texts to send first: one snapshot, or the missed deltas in order.
    pub initial: Vec<Arc<str>>,
    /// The seq the subscriber is at after `initial`.
    pub seq: u64,
    /// Held for as long as the subscription lasts (see [`Topic::watchers`]).
    pub watch: Arc<()>,
}

/// Join wire texts into one frame text: one message alone, several as a `batch`.
pub fn batch_text<'a>(texts: impl ExactSizeIterator<Item = &'a str>) -> Utf8Bytes {
    if texts.len() == 1 {
        return texts.into_iter().next().map(|t| Utf8Bytes::from(t.to_owned())).unwrap_or_default();
    }
    let texts: Vec<&str> = texts.collect();
    let mut s = String::with_capacity(texts.iter().map(|t| t.len() + 1).sum::<usize>() + 32);
    s.push_str(r#"{"type":"batch","items":["#);
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(t);
    }
    s.push_str("]}");
    Utf8Bytes::from(s)
}

/// Group wire texts into frames of at most about [`MAX_FRAME_BYTES`]: one message alone,
/// several as a `batch`.
pub fn frames_of(items: &[Arc<str>]) -> Vec<Utf8Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, t) in items.iter().enumerate() {
        if size + t.len() > MAX_FRAME_BYTES && i > start {
            out.push(batch_text(items[start..i].iter().map(|t| &**t)));
            start = i;
            size = 0;
        }
        size += t.len();
    }
    if start < items.len() {
        out.push(batch_text(items[start..].iter().map(|t| &**t)));
    }
    out
}

/// The wire form of [`ServerMsg::Delta`], borrowed (same fields, same order).
#[derive(Serialize)]
struct DeltaWire<'a, T: Serialize + ?Sized> {
    #[serde(rename = "type")]
    kind: &'static str,
    topic: &'a str,
    epoch: &'a str,
    seq: u64,
    time: &'a str,
    data: &'a T,
}

/// Serialise a server message to its wire text.
pub fn to_text(msg: &ServerMsg) -> Arc<str> {
    serde_json::to_string(msg).expect("protocol messages always serialise").into()
}

impl TopicInner {
    /// The wire texts of the deltas after `seq` up to `upto`, or `None` when the ring no longer
    /// holds them all.
    fn deltas_after(&self, seq: u64, upto: u64) -> Option<Vec<Arc<str>>> {
        let oldest = self.recent.front().map_or(self.seq + 1, |d| d.seq);
        (seq + 1 >= oldest).then(|| {
            self.recent.iter().filter(|d| d.seq > seq && d.seq <= upto).map(|d| d.text.clone()).collect()
        })
    }
}

impl Hub {
    /// A hub for `(topic, epoch, seq of the last delta so far)`.
    pub fn new(topics: &[(&str, String, u64)]) -> Hub {
        let topics: Vec<Topic> = topics
            .iter()
            .map(|(name, epoch, seq)| {
                let inner = Mutex::new(TopicInner {
                    seq: *seq,
                    recent: VecDeque::new(),
                    recent_bytes: 0,
                    pending: Vec::new(),
                    flushed: *seq,
                    frames: VecDeque::new(),
                    frames_bytes: 0,
                });
                Topic { name: (*name).to_owned(), epoch: epoch.clone(), inner, watchers: Arc::new(()) }
            })
            .collect();
        let index = topics.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        Hub { topics, index, pending: tokio::sync::Notify::new(), pending_since: Mutex::new(None) }
    }

    /// The epoch of a topic's stream.
    pub fn epoch(&self, topic: &str) -> &str {
        &self.topic(topic).epoch
    }

    /// The seq of a topic's last delta.
    pub fn seq(&self, topic: &str) -> u64 {
        self.topic(topic).inner.lock().or_poisoned().seq
    }

    /// Is `name` a topic of this hub?
    pub fn has_topic(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// How many topics there are (indexes are `0..len`).
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// No topics at all.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// Wait until a delta is published for a frame (at once when one was since the last wait).
    pub async fn wait_pending(&self) {
        self.pending.notified().await;
    }

    /// When the deltas waiting for a frame have gathered ([`GATHER`] after the oldest was
    /// published); `None` when none wait. (Some, after a flush, for a delta that went into it
    /// after all: the next flush then finds nothing, which is harmless.)
    pub fn gathered_at(&self) -> Option<tokio::time::Instant> {
        self.pending_since.lock().or_poisoned().map(|t| t + GATHER)
    }

    /// The index of topic `name` (frames of a flush are given by index, see [`Hub::flush`]).
    pub fn index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The name of the topic at `index`.
    pub fn name(&self, index: usize) -> &str {
        &self.topics[index].name
    }

    /// The last seq of topic `index` closed into a frame: a subscriber behind it has frames to
    /// catch up on ([`Hub::catch_up`]).
    pub fn flushed(&self, index: usize) -> u64 {
        self.topics[index].inner.lock().or_poisoned().flushed
    }

    fn topic(&self, name: &str) -> &Topic {
        self.index
            .get(name)
            .map(|&i| &self.topics[i])
            .unwrap_or_else(|| panic!("topic {name:?} is not registered in the hub"))
    }

    /// Append a delta to `topic`, for the next frame when someone watches it; returns its seq. Callers publish
    /// under the lock of the state the delta changes, so that the stream's order is the state's.
    /// The wire text is made here, once, straight from `data`.
    pub fn publish<T: Serialize + ?Sized>(&self, topic: &str, time: &str, data: &T) -> u64 {
        let t = self.topic(topic);
        let mut inner = t.inner.lock().or_poisoned();
        inner.seq += 1;
        let wire = DeltaWire { kind: "delta", topic, epoch: &t.epoch, seq: inner.seq, time, data };
        let text: Arc<str> = serde_json::to_string(&wire).expect("protocol messages always serialise").into();
        let d = Arc::new(Delta { seq: inner.seq, text });
        inner.recent_bytes += d.text.len();
        inner.recent.push_back(d.clone());
        while inner.recent.len() > RESUME_WINDOW
            || (inner.recent_bytes > RESUME_BYTES && inner.recent.len() > 1)
        {
            if let Some(old) = inner.recent.pop_front() {
                inner.recent_bytes -= old.text.len();
            }
        }
        if Arc::strong_count(&t.watchers) > 1 {
            inner.pending.push(d);
            // The flusher is told once per topic and frame, not once per delta.
            if inner.pending.len() == 1 {
                self.pending_since.lock().or_poisoned().get_or_insert_with(tokio::time::Instant::now);
                self.pending.notify_one();
            }
        }
        inner.seq
    }

    /// Close every topic's pending deltas into a frame: the frames made, by topic index (see
    /// `fanout::flush`).
    pub fn flush(&self) -> Vec<Option<Arc<Frame>>> {
        // Taken first: a delta published meanwhile waits for the next frame, or is in this one.
        *self.pending_since.lock().or_poisoned() = None;
        self.topics
            .iter()
            .map(|t| {
                let mut inner = t.inner.lock().or_poisoned();
                if inner.pending.is_empty() {
                    return None;
                }
                let pending = std::mem::take(&mut inner.pending);
                let frame = Arc::new(Frame {
                    first: pending[0].seq,
                    last: pending[pending.len() - 1].seq,
                    text: batch_text(pending.iter().map(|d| &*d.text)),
                });
                inner.flushed = frame.last;
                inner.frames_bytes += frame.text.len();
                inner.frames.push_back(frame.clone());
                while inner.frames.len() > FRAMES_KEPT
                    || (inner.frames_bytes > FRAMES_BYTES && inner.frames.len() > 1)
                {
                    if let Some(old) = inner.frames.pop_front() {
                        inner.frames_bytes -= old.text.len();
                    }
                }
                Some(frame)
            })
            .collect()
    }

    /// What a subscriber of topic `index` at `seq` has missed of the frames made so far, and the
    /// seq it is at after them: the kept frames themselves when they follow on (shared, not
    /// copied), the deltas from the ring where they do not (the first frame after a subscription
    /// can straddle its starting seq). `None` when the ring no longer holds what was missed: a
    /// fresh snapshot is needed.
    pub fn catch_up(&self, index: usize, seq: u64) -> Option<(Vec<Utf8Bytes>, u64)> {
        // Under the lock only what is shared is taken; texts are joined after it.
        enum Piece {
            Frame(Utf8Bytes),
            Deltas(Vec<Arc<str>>),
        }
        let mut pieces = Vec::new();
        let mut at = seq;
        {
            let inner = self.topics[index].inner.lock().or_poisoned();
            for f in inner.frames.iter().filter(|f| f.last > seq) {
                if f.first == at + 1 {
                    pieces.push(Piece::Frame(f.text.clone()));
                } else {
                    pieces.push(Piece::Deltas(inner.deltas_after(at, f.last)?));
                }
                at = f.last;
            }
        }
        let mut out = Vec::with_capacity(pieces.len());
        for p in pieces {
            match p {
                Piece::Frame(text) => out.push(text),
                Piece::Deltas(texts) => out.extend(frames_of(&texts)),
            }
        }
        Some((out, at))
    }

    /// Count a delta that no one can be sent any more (replaying history older than the resume
    /// window): the seq advances, nothing is kept.
    pub fn skip(&self, topic: &str) -> u64 {
        let mut inner = self.topic(topic).inner.lock().or_poisoned();
        inner.seq += 1;
        inner.seq
    }

    /// Start a subscription to `topic`, resuming from `since` when the deltas after it are still
    /// held, otherwise from a snapshot made by `snapshot()` (called with the topic locked, so it
    /// must describe the state after the topic's last delta: callers hold the state's lock).
    pub fn subscribe(
        &self,
        topic: &str,
        since: Option<&ResumePoint>,
        snapshot: impl FnOnce() -> (String, serde_json::Value),
    ) -> Subscription {
        let t = self.topic(topic);
        let inner = t.inner.lock().or_poisoned();
        let watch = t.watchers.clone();
        let missed = since
            .filter(|s| s.epoch == t.epoch && s.seq <= inner.seq)
            .and_then(|s| inner.deltas_after(s.seq, inner.seq));
        let initial = missed.unwrap_or_else(|| {
            let (time, data) = snapshot();
            let msg = ServerMsg::Snapshot(Update {
                topic: topic.to_owned(),
                epoch: t.epoch.clone(),
                seq: inner.seq,
                time,
                data,
            });
            vec![to_text(&msg)]
        });
        Subscription { topic: self.index[topic], initial, seq: inner.seq, watch }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hub() -> Hub {
        let h = Hub::new(&[("t", "e1".into(), 0)]);
        for i in 1..=10 {
            h.publish("t", "2026-01-01T00:00:00Z", &json!(i));
        }
        h
    }

    fn snap() -> impl FnOnce() -> (String, serde_json::Value) {
        || ("2026-01-01T00:00:00Z".to_owned(), json!("state"))
    }

    fn parsed(texts: &[Arc<str>]) -> Vec<ServerMsg> {
        texts.iter().map(|t| serde_json::from_str(t).expect("wire text is a protocol message")).collect()
    }

    fn seqs(texts: &[Arc<str>]) -> Vec<(bool, u64)> {
        parsed(texts)
            .iter()
            .map(|m| match m {
                ServerMsg::Snapshot(u) => (true, u.seq),
                ServerMsg::Delta(u) => (false, u.seq),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn frame_seqs(f: &Frame) -> Vec<u64> {
        match serde_json::from_str(f.text.as_str()).expect("wire text") {
            ServerMsg::Delta(u) => vec![u.seq],
            ServerMsg::Batch { items } => items
                .iter()
                .map(|m| match m {
                    ServerMsg::Delta(u) => u.seq,
                    other => panic!("unexpected {other:?}"),
                })
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn text_seqs(texts: &[Utf8Bytes]) -> Vec<u64> {
        texts.iter().flat_map(|t| frame_seqs(&Frame { first: 0, last: 0, text: t.clone() })).collect()
    }

    #[test]
    fn resume_gets_exactly_the_missed_deltas_then_live_ones() {
        let h = hub();
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 7 }), snap());
        assert_eq!(seqs(&sub.initial), vec![(false, 8), (false, 9), (false, 10)]);
        assert_eq!(sub.seq, 10);
        h.publish("t", "2026-01-01T00:00:01Z", &json!(11));
        assert_eq!(h.flushed(sub.topic), 0, "nothing is sent before the flush");
        let frames = h.flush();
        let live = frames[sub.topic].as_ref().expect("a frame for the topic");
        assert_eq!((live.first, live.last), (11, 11));
        assert_eq!(h.flushed(sub.topic), 11);
        let ServerMsg::Delta(u) = serde_json::from_str(live.text.as_str()).expect("wire text") else {
            panic!("not a delta")
        };
        assert_eq!((u.topic.as_str(), u.epoch.as_str(), u.seq, &u.data), ("t", "e1", 11, &json!(11)));
        // Several deltas in a flush go out as one batch.
        h.publish("t", "2026-01-01T00:00:02Z", &json!(12));
        h.publish("t", "2026-01-01T00:00:03Z", &json!(13));
        let frames = h.flush();
        let f = frames[sub.topic].as_ref().expect("a frame");
        assert_eq!(((f.first, f.last), frame_seqs(f)), ((12, 13), vec![12, 13]));
        // Up to date: nothing missed, nothing to catch up on.
        let up = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 13 }), snap());
        assert!(up.initial.is_empty());
        assert_eq!(h.catch_up(up.topic, 13).map(|(t, at)| (t.len(), at)), Some((0, 13)));
        // Nobody watching: nothing gathered, no frame.
        drop((sub, up));
        h.publish("t", "2026-01-01T00:00:04Z", &json!(14));
        assert!(h.flush().iter().all(Option::is_none));
    }

    #[test]
    fn a_client_behind_catches_up_with_the_kept_frames_themselves_or_the_ring() {
        let h = hub();
        let sub = h.subscribe("t", None, snap());
        assert_eq!(sub.seq, 10);
        // A subscription made while deltas were pending: the first frame straddles its seq, and
        // what it has not had of it comes from the ring.
        let h2 = hub();
        let watching = h2.subscribe("t", None, snap());
        h2.publish("t", "2026-01-01T00:00:01Z", &json!(11));
        let late = h2.subscribe("t", None, snap());
        assert_eq!(late.seq, 11);
        h2.publish("t", "2026-01-01T00:00:02Z", &json!(12));
        let f = h2.flush()[late.topic].clone().expect("frame");
        assert_eq!((f.first, f.last), (11, 12));
        let (texts, at) = h2.catch_up(late.topic, 11).expect("held");
        assert_eq!((text_seqs(&texts), at), (vec![12], 12));
        assert_eq!(
            h2.catch_up(watching.topic, 10).map(|(t, at)| (text_seqs(&t), at)),
            Some((vec![11, 12], 12))
        );
        // A delta published while nobody watched is in no frame, and no subscriber is before it.
        drop((watching, late));
        h2.publish("t", "2026-01-01T00:00:03Z", &json!(13));
        let again = h2.subscribe("t", None, snap());
        h2.publish("t", "2026-01-01T00:00:04Z", &json!(14));
        let f = h2.flush()[again.topic].clone().expect("frame");
        assert_eq!(((f.first, f.last), again.seq), ((14, 14), 13));
        assert_eq!(h2.catch_up(again.topic, 13).map(|(t, at)| (text_seqs(&t), at)), Some((vec![14], 14)));
        // Frames that follow on are sent as they were made: the same shared text.
        for i in 11..=15 {
            h.publish("t", "2026-01-01T00:00:01Z", &json!(i));
            if i % 2 == 0 {
                h.flush();
            }
        }
        h.flush();
        // Frames 11..=12, 13..=14, 15..=15.
        let (texts, at) = h.catch_up(sub.topic, 10).expect("held");
        assert_eq!((text_seqs(&texts), at), ((11..=15).collect::<Vec<_>>(), 15));
        assert_eq!(texts.len(), 3, "one text per kept frame");
        let kept = h.topics[sub.topic].inner.lock().or_poisoned().frames.clone();
        assert!(
            texts.iter().zip(&kept).all(|(t, f)| t.as_str().as_ptr() == f.text.as_str().as_ptr()),
            "shared"
        );
        // From inside a frame: the rest of it from the ring, then the frames.
        let (texts, at) = h.catch_up(sub.topic, 11).expect("held");
        assert_eq!((text_seqs(&texts), at), ((12..=15).collect::<Vec<_>>(), 15));
        // Past the kept frames and the ring: a snapshot is needed.
        for i in 0..(RESUME_WINDOW + FRAMES_KEPT) {
            h.publish("t", "2026-01-01T00:00:01Z", &json!(i));
            h.flush();
        }
        assert!(h.catch_up(sub.topic, 15).is_none());
        let newest = h.seq("t");
        let (texts, at) = h.catch_up(sub.topic, newest - 3).expect("held");
        assert_eq!((text_seqs(&texts), at), ((newest - 2..=newest).collect::<Vec<_>>(), newest));
    }

    #[test]
    fn stale_epoch_future_seq_or_no_resume_point_gets_a_snapshot() {
        let h = hub();
        for since in [
            None,
            Some(ResumePoint { epoch: "old".into(), seq: 7 }),
            Some(ResumePoint { epoch: "e1".into(), seq: 99 }),
        ] {
            let sub = h.subscribe("t", since.as_ref(), snap());
            assert_eq!(seqs(&sub.initial), vec![(true, 10)], "since {since:?}");
            let ServerMsg::Snapshot(u) = &parsed(&sub.initial)[0] else { unreachable!() };
            assert_eq!((u.seq, &u.data), (10, &json!("state")));
        }
    }

    #[test]
    fn resume_point_older_than_the_window_gets_a_snapshot() {
        let h = Hub::new(&[("t", "e1".into(), 0)]);
        let n = RESUME_WINDOW as u64 + 5;
        for i in 1..=n {
            h.publish("t", "2026-01-01T00:00:00Z", &json!(i));
        }
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 3 }), snap());
        assert_eq!(seqs(&sub.initial), vec![(true, n)]);
        // The oldest delta still held is seq 6: resuming from 5 replays the whole window.
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 5 }), snap());
        assert_eq!(sub.initial.len(), RESUME_WINDOW);
        assert_eq!(seqs(&sub.initial[..1]), vec![(false, 6)]);
    }

    #[test]
    fn the_window_keeps_at_most_its_bytes_and_always_the_newest_delta() {
        let h = Hub::new(&[("t", "e1".into(), 0)]);
        // Deltas of about 1 MiB each (a large batch's): 8 fit in the window's bytes, not 9.
        let big = "x".repeat((1 << 20) - 256);
        for _ in 0..12 {
            h.publish("t", "2026-01-01T00:00:00Z", &json!(big));
        }
        let inner = h.topics[0].inner.lock().or_poisoned();
        let kept: Vec<u64> = inner.recent.iter().map(|d| d.seq).collect();
        assert_eq!(kept, (5..=12).collect::<Vec<_>>());
        assert_eq!(inner.recent_bytes, inner.recent.iter().map(|d| d.text.len()).sum::<usize>());
        drop(inner);
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 3 }), snap());
        assert_eq!(seqs(&sub.initial), vec![(true, 12)], "past the bytes kept: a snapshot");
        // One delta larger than the whole window is kept, alone.
        h.publish("t", "2026-01-01T00:00:00Z", &json!("y".repeat(RESUME_BYTES + 1)));
        let kept: Vec<u64> = h.topics[0].inner.lock().or_poisoned().recent.iter().map(|d| d.seq).collect();
        assert_eq!(kept, vec![13]);
    }

    #[test]
    fn the_kept_frames_hold_at_most_their_bytes_and_always_the_newest() {
        let h = Hub::new(&[("t", "e1".into(), 0)]);
        let sub = h.subscribe("t", None, snap());
        // Frames of about 1 MiB (a large batch's delta each): 8 fit in the frames' bytes, not 9.
        let big = "x".repeat((1 << 20) - 256);
        for _ in 0..12 {
            h.publish("t", "2026-01-01T00:00:00Z", &json!(big));
            h.flush();
        }
        let inner = h.topics[sub.topic].inner.lock().or_poisoned();
        let kept: Vec<u64> = inner.frames.iter().map(|f| f.first).collect();
        assert_eq!(kept, (5..=12).collect::<Vec<_>>());
        assert_eq!(inner.frames_bytes, inner.frames.iter().map(|f| f.text.len()).sum::<usize>());
        drop(inner);
        // From the oldest kept frame on: the frames themselves; from before it, the ring would
        // be needed, which has let the same bytes go: a snapshot.
        let (texts, at) = h.catch_up(sub.topic, 4).expect("held");
        assert_eq!((text_seqs(&texts), at), ((5..=12).collect::<Vec<_>>(), 12));
        assert!(h.catch_up(sub.topic, 3).is_none());
        // One frame larger than all the bytes is kept, alone.
        h.publish("t", "2026-01-01T00:00:00Z", &json!("z".repeat(FRAMES_BYTES + 1)));
        h.flush();
        let kept: Vec<u64> =
            h.topics[sub.topic].inner.lock().or_poisoned().frames.iter().map(|f| f.first).collect();
        assert_eq!(kept, vec![13]);
    }
}
