//! Topic streams: epoch, per-topic seq, recent deltas for resume, and fan-out to subscribers.
//!
//! Each topic keeps its latest snapshot, a bounded ring of its most recent deltas, and a
//! `tokio::sync::broadcast` channel. Publishing and subscribing take the topic's lock, so a
//! subscriber gets a consistent starting point (a snapshot at seq N, or the deltas after its
//! resume point up to N) and then exactly the deltas after N from its receiver: no gap, no
//! duplicate. The broadcast ring is bounded: a subscriber that falls behind it is told it lagged
//! and gets a fresh snapshot instead (see `ws`), so one slow client never holds memory or others.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use yiping_protocol::{ResumePoint, ServerMsg, Update};

/// How many recent deltas each topic keeps for clients that resume.
pub const RESUME_WINDOW: usize = 4096;
/// How many deltas a subscriber may fall behind before it is resynchronised with a snapshot.
pub const FANOUT_CAPACITY: usize = 1024;

#[derive(Debug)]
struct TopicInner {
    seq: u64,
    snapshot: Update,
    recent: VecDeque<Arc<Update>>,
}

#[derive(Debug)]
struct Topic {
    inner: Mutex<TopicInner>,
    tx: broadcast::Sender<Arc<Update>>,
}

/// All topic streams of one server epoch.
#[derive(Debug)]
pub struct Hub {
    epoch: String,
    topics: HashMap<String, Topic>,
}

/// What a new subscriber starts from.
#[derive(Debug)]
pub struct Subscription {
    /// Messages to send first: one snapshot, or the missed deltas in order.
    pub initial: Vec<ServerMsg>,
    /// Deltas after the initial messages.
    pub rx: broadcast::Receiver<Arc<Update>>,
}

impl Hub {
    /// A hub for the given topics, each starting at seq 0 with `initial` data.
    pub fn new(epoch: String, topics: &[&str], time: &str, initial: &serde_json::Value) -> Hub {
        let topics = topics
            .iter()
            .map(|&name| {
                let snapshot = Update {
                    topic: name.to_owned(),
                    epoch: epoch.clone(),
                    seq: 0,
                    time: time.to_owned(),
                    data: initial.clone(),
                };
                let (tx, _) = broadcast::channel(FANOUT_CAPACITY);
                let inner = Mutex::new(TopicInner { seq: 0, snapshot, recent: VecDeque::new() });
                (name.to_owned(), Topic { inner, tx })
            })
            .collect();
        Hub { epoch, topics }
    }

    /// This server run's epoch.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Is `name` a topic of this hub?
    pub fn has_topic(&self, name: &str) -> bool {
        self.topics.contains_key(name)
    }

    fn topic(&self, name: &str) -> &Topic {
        self.topics.get(name).unwrap_or_else(|| panic!("topic {name:?} is not registered in the hub"))
    }

    /// Append a delta to `topic`; `snapshot` is the topic's full state after it.
    pub fn publish(&self, topic: &str, time: &str, delta: serde_json::Value, snapshot: serde_json::Value) {
        let t = self.topic(topic);
        let mut inner = t.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.seq += 1;
        let seq = inner.seq;
        let update = Arc::new(Update {
            topic: topic.to_owned(),
            epoch: self.epoch.clone(),
            seq,
            time: time.to_owned(),
            data: delta,
        });
        inner.snapshot = Update { data: snapshot, ..(*update).clone() };
        if inner.recent.len() == RESUME_WINDOW {
            inner.recent.pop_front();
        }
        inner.recent.push_back(update.clone());
        // No receivers is not an error: nobody is watching this topic right now.
        let _ = t.tx.send(update);
    }

    /// Start a subscription to `topic`, resuming from `since` when the deltas after it are still
    /// available in this epoch, otherwise from a fresh snapshot.
    pub fn subscribe(&self, topic: &str, since: Option<&ResumePoint>) -> Subscription {
        let t = self.topic(topic);
        let inner = t.inner.lock().unwrap_or_else(|p| p.into_inner());
        let rx = t.tx.subscribe();
        let missed = since.filter(|s| s.epoch == self.epoch && s.seq <= inner.seq).and_then(|s| {
            let oldest = inner.recent.front().map_or(inner.seq + 1, |u| u.seq);
            (s.seq + 1 >= oldest).then(|| {
                inner
                    .recent
                    .iter()
                    .filter(|u| u.seq > s.seq)
                    .map(|u| ServerMsg::Delta((**u).clone()))
                    .collect::<Vec<_>>()
            })
        });
        let initial = missed.unwrap_or_else(|| vec![ServerMsg::Snapshot(inner.snapshot.clone())]);
        Subscription { initial, rx }
    }

    /// The current snapshot of `topic`.
    pub fn snapshot(&self, topic: &str) -> Update {
        self.topic(topic).inner.lock().unwrap_or_else(|p| p.into_inner()).snapshot.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hub() -> Hub {
        let h = Hub::new("e1".into(), &["t"], "2026-01-01T00:00:00Z", &json!(0));
        for i in 1..=10 {
            h.publish("t", "2026-01-01T00:00:00Z", json!(i), json!(i));
        }
        h
    }

    fn seqs(msgs: &[ServerMsg]) -> Vec<(bool, u64)> {
        msgs.iter()
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
        let mut sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 7 }));
        assert_eq!(seqs(&sub.initial), vec![(false, 8), (false, 9), (false, 10)]);
        h.publish("t", "2026-01-01T00:00:01Z", json!(11), json!(11));
        assert_eq!(sub.rx.try_recv().expect("live delta").seq, 11);
        // Up to date: nothing missed.
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 11 }));
        assert!(sub.initial.is_empty());
    }

    #[test]
    fn stale_epoch_future_seq_or_no_resume_point_gets_a_snapshot() {
        let h = hub();
        for since in [
            None,
            Some(ResumePoint { epoch: "old".into(), seq: 7 }),
            Some(ResumePoint { epoch: "e1".into(), seq: 99 }),
        ] {
            let sub = h.subscribe("t", since.as_ref());
            assert_eq!(seqs(&sub.initial), vec![(true, 10)], "since {since:?}");
            let ServerMsg::Snapshot(u) = &sub.initial[0] else { unreachable!() };
            assert_eq!(u.data, json!(10));
        }
    }

    #[test]
    fn resume_point_older_than_the_window_gets_a_snapshot() {
        let h = Hub::new("e1".into(), &["t"], "2026-01-01T00:00:00Z", &json!(0));
        let n = RESUME_WINDOW as u64 + 5;
        for i in 1..=n {
            h.publish("t", "2026-01-01T00:00:00Z", json!(i), json!(i));
        }
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 3 }));
        assert_eq!(seqs(&sub.initial), vec![(true, n)]);
        // The oldest delta still held is seq 6: resuming from 5 replays the whole window.
        let sub = h.subscribe("t", Some(&ResumePoint { epoch: "e1".into(), seq: 5 }));
        assert_eq!(sub.initial.len(), RESUME_WINDOW);
        assert_eq!(seqs(&sub.initial[..1]), vec![(false, 6)]);
    }
}
