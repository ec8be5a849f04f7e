//! Topic streams: epoch, per-topic seq, recent deltas for resume, and fan-out to subscribers.
//!
//! Each delta is serialised to its wire text once, when it is published. Soon after a publish
//! ([`GATHER`], so that a batch's deltas travel together) the hub closes each topic's pending
//! deltas into one [`Frame`] (a `batch`, or the delta alone) whose text is shared (`Arc`) by every
//! subscriber: steady-state fan-out costs no per-client serialisation or copying. Frames are at
//! least [`MIN_GAP`] apart, so a busy stream costs every client a bounded number of wake-ups a
//! second, and a quiet one is sent at once, not at the next tick ([`run_flusher`]). Each topic
//! keeps its epoch and seq, a bounded ring of its most recent deltas
//! ([`RESUME_WINDOW`]) for clients that resume or lag, and a bounded `broadcast` channel of frames;
//! snapshots are made from the fold on demand. Publishing and subscribing take the topic's lock, so
//! a subscriber gets a consistent starting point (a snapshot at seq N, or the deltas after its
//! resume point up to N) and then the frames carrying everything after N: no gap, no duplicate (a
//! frame that straddles N is trimmed from the ring, see [`Hub::deltas_after`]). A subscriber that
//! falls behind the channel catches up from the ring, or, further behind, gets a fresh snapshot
//! (see `ws`), so one slow client never holds memory or delays others.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::sync::OrPoisoned;
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::broadcast;
use yiping_protocol::{ResumePoint, ServerMsg, Update};

/// How many recent deltas each topic keeps for clients that resume or lag.
pub const RESUME_WINDOW: usize = 8192;
/// How many frames a subscriber may fall behind before it must catch up from the ring (at most
/// one frame per [`MIN_GAP`]: about 3 s).
pub const FANOUT_CAPACITY: usize = 64;
/// How long after the first pending delta the hub waits for the rest of its batch before it
/// sends the frame.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(2);
/// The least time between two frames: what arrives meanwhile goes in the next.
pub const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(50);

/// One flush's deltas of a topic, ready to send: seqs `first..=last`.
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
    /// Topic.
    pub topic: String,
    /// Seq in the topic.
    pub seq: u64,
    /// The serialised [`ServerMsg::Delta`].
    pub text: Arc<str>,
}

#[derive(Debug)]
struct TopicInner {
    seq: u64,
    recent: VecDeque<Arc<Delta>>,
    pending: Vec<Arc<Delta>>,
}

#[derive(Debug)]
struct Topic {
    epoch: String,
    inner: Mutex<TopicInner>,
    tx: broadcast::Sender<Arc<Frame>>,
}

/// All topic streams.
#[derive(Debug)]
pub struct Hub {
    topics: HashMap<String, Topic>,
    /// Woken by a publish that has someone to send to ([`run_flusher`]).
    pending: tokio::sync::Notify,
}

/// What a new subscriber starts from.
#[derive(Debug)]
pub struct Subscription {
    /// Wire texts to send first: one snapshot, or the missed deltas in order.
    pub initial: Vec<Arc<str>>,
    /// The seq the subscriber is at after `initial`.
    pub seq: u64,
    /// Frames after the initial messages.
    pub rx: broadcast::Receiver<Arc<Frame>>,
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

impl Hub {
    /// A hub for `(topic, epoch, seq of the last delta so far)`.
    pub fn new(topics: &[(&str, String, u64)]) -> Hub {
        let topics = topics
            .iter()
            .map(|(name, epoch, seq)| {
                let (tx, _) = broadcast::channel(FANOUT_CAPACITY);
                let inner =
                    Mutex::new(TopicInner { seq: *seq, recent: VecDeque::new(), pending: Vec::new() });
                ((*name).to_owned(), Topic { epoch: epoch.clone(), inner, tx })
            })
            .collect();
        Hub { topics, pending: tokio::sync::Notify::new() }
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
        self.topics.contains_key(name)
    }

    fn topic(&self, name: &str) -> &Topic {
        self.topics.get(name).unwrap_or_else(|| panic!("topic {name:?} is not registered in the hub"))
    }

    /// Append a delta to `topic` and send it to its subscribers; returns its seq. Callers publish
    /// under the lock of the state the delta changes, so that the stream's order is the state's.
    /// The wire text is made here, once, straight from `data`.
    pub fn publish<T: Serialize + ?Sized>(&self, topic: &str, time: &str, data: &T) -> u64 {
        let t = self.topic(topic);
        let mut inner = t.inner.lock().or_poisoned();
        inner.seq += 1;
        let wire = DeltaWire { kind: "delta", topic, epoch: &t.epoch, seq: inner.seq, time, data };
        let text: Arc<str> = serde_json::to_string(&wire).expect("protocol messages always serialise").into();
        let d = Arc::new(Delta { topic: topic.to_owned(), seq: inner.seq, text });
        if inner.recent.len() == RESUME_WINDOW {
            inner.recent.pop_front();
        }
        inner.recent.push_back(d.clone());
        if t.tx.receiver_count() > 0 {
            inner.pending.push(d);
            self.pending.notify_one();
        }
        inner.seq
    }

    /// Close every topic's pending deltas into a frame and send it (see [`run_flusher`]).
    pub fn flush(&self) {
        for t in self.topics.values() {
            let mut inner = t.inner.lock().or_poisoned();
            if inner.pending.is_empty() {
                continue;
            }
            let pending = std::mem::take(&mut inner.pending);
            let frame = Frame {
                first: pending[0].seq,
                last: pending[pending.len() - 1].seq,
                text: batch_text(pending.iter().map(|d| &*d.text)),
            };
            // No receivers is not an error: everybody left since.
            let _ = t.tx.send(Arc::new(frame));
        }
    }

    /// The wire texts of the deltas after `seq` up to `upto` from the ring, or `None` when the
    /// ring no longer holds them all.
    pub fn deltas_after(&self, topic: &str, seq: u64, upto: u64) -> Option<Vec<Arc<str>>> {
        let inner = self.topic(topic).inner.lock().or_poisoned();
        let oldest = inner.recent.front().map_or(inner.seq + 1, |d| d.seq);
        (seq + 1 >= oldest).then(|| {
            inner.recent.iter().filter(|d| d.seq > seq && d.seq <= upto).map(|d| d.text.clone()).collect()
        })
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
        let rx = t.tx.subscribe();
        let missed = since.filter(|s| s.epoch == t.epoch && s.seq <= inner.seq).and_then(|s| {
            let oldest = inner.recent.front().map_or(inner.seq + 1, |d| d.seq);
            (s.seq + 1 >= oldest).then(|| {
                inner.recent.iter().filter(|d| d.seq > s.seq).map(|d| d.text.clone()).collect::<Vec<_>>()
            })
        });
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
        Subscription { initial, seq: inner.seq, rx }
    }
}

/// Send the hub's pending deltas, until the task is dropped: [`GATHER`] after a publish, and
/// then not again for [`MIN_GAP`] (what is published meanwhile waits for the next frame; a
/// publish during the gap is remembered by the `Notify`'s permit).
pub async fn run_flusher(hub: &Hub) {
    loop {
        hub.pending.notified().await;
        let started = tokio::time::Instant::now();
        tokio::time::sleep(GATHER).await;
        hub.flush();
        tokio::time::sleep_until(started + MIN_GAP).await;
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

    #[test]
    fn resume_gets_exactly_the_missed_deltas_then_live_ones() {
        let h = hub();
        let mut sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 7 }), snap());
        assert_eq!(seqs(&sub.initial), vec![(false, 8), (false, 9), (false, 10)]);
        assert_eq!(sub.seq, 10);
        h.publish("t", "2026-01-01T00:00:01Z", &json!(11));
        assert!(sub.rx.try_recv().is_err(), "nothing is sent before the flush");
        h.flush();
        let live = sub.rx.try_recv().expect("live frame");
        assert_eq!((live.first, live.last), (11, 11));
        let ServerMsg::Delta(u) = serde_json::from_str(live.text.as_str()).expect("wire text") else {
            panic!("not a delta")
        };
        assert_eq!((u.topic.as_str(), u.epoch.as_str(), u.seq, &u.data), ("t", "e1", 11, &json!(11)));
        // Several deltas in a flush go out as one batch, shared by every subscriber.
        let mut other = h.subscribe("t", None, snap());
        h.publish("t", "2026-01-01T00:00:02Z", &json!(12));
        h.publish("t", "2026-01-01T00:00:03Z", &json!(13));
        h.flush();
        let (a, b) = (sub.rx.try_recv().expect("frame"), other.rx.try_recv().expect("frame"));
        assert!(Arc::ptr_eq(&a, &b));
        let ServerMsg::Batch { items } = serde_json::from_str(a.text.as_str()).expect("wire text") else {
            panic!("not a batch")
        };
        assert_eq!(items.len(), 2);
        assert_eq!((a.first, a.last), (12, 13));
        // A straddling frame is trimmed from the ring.
        assert_eq!(h.deltas_after("t", 12, 13).map(|v| v.len()), Some(1));
        // Up to date: nothing missed.
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 13 }), snap());
        assert!(sub.initial.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_publish_is_sent_at_once_and_frames_keep_their_gap() {
        let h = std::sync::Arc::new(hub());
        let mut sub = h.subscribe("t", None, snap());
        let h2 = h.clone();
        let flusher = tokio::spawn(async move { run_flusher(&h2).await });
        let t0 = tokio::time::Instant::now();
        h.publish("t", "2026-01-01T00:00:01Z", &json!(11));
        let f = sub.rx.recv().await.expect("frame");
        assert_eq!((f.first, f.last), (11, 11));
        assert_eq!(t0.elapsed(), GATHER, "the first publish goes out after the gather time only");
        // Two publishes inside the gap travel together, when the gap is over.
        h.publish("t", "2026-01-01T00:00:02Z", &json!(12));
        h.publish("t", "2026-01-01T00:00:03Z", &json!(13));
        let f = sub.rx.recv().await.expect("frame");
        assert_eq!((f.first, f.last), (12, 13));
        assert_eq!(t0.elapsed(), MIN_GAP + GATHER);
        // After a quiet while, the next publish again goes at once.
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let t1 = tokio::time::Instant::now();
        h.publish("t", "2026-01-01T00:00:04Z", &json!(14));
        let f = sub.rx.recv().await.expect("frame");
        assert_eq!(((f.first, f.last), t1.elapsed()), ((14, 14), GATHER));
        flusher.abort();
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
}
