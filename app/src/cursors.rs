//! The client side of the stream protocol, free of browser types so it is tested natively.
//!
//! [`Cursors`] remembers, per topic, the epoch and last seq applied, decides what each incoming
//! message means ([`Step`]), and builds the `subscribe` request that resumes every topic after a
//! reconnect. Deltas are applied only in exact sequence: a duplicate is ignored, a gap asks for a
//! resubscription from the last applied point (the server then sends the missed deltas, or a
//! snapshot when they are gone), so no update is ever silently skipped.

use std::collections::BTreeMap;

use yiping_protocol::{ClientMsg, ResumePoint, ServerMsg, Update};

/// What to do with one incoming update.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Replace the topic's state with this snapshot.
    Snapshot(Update),
    /// Apply this delta (it is the next in sequence).
    Delta(Update),
    /// Already applied: ignore.
    Duplicate,
    /// Deltas are missing: resubscribe the topic from the cursor.
    Gap {
        /// The topic to resubscribe.
        topic: String,
    },
    /// A message that is not a topic update.
    Other(ServerMsg),
}

/// Resume points of the subscribed topics.
#[derive(Debug, Default, Clone)]
pub struct Cursors {
    topics: Vec<String>,
    at: BTreeMap<String, ResumePoint>,
}

impl Cursors {
    /// Cursors for the given topics, none applied yet.
    pub fn new(topics: &[&str]) -> Cursors {
        Cursors { topics: topics.iter().map(|t| (*t).to_owned()).collect(), at: BTreeMap::new() }
    }

    /// The request that (re)subscribes every topic, resuming where possible.
    pub fn subscribe(&self) -> ClientMsg {
        ClientMsg::Subscribe { topics: self.topics.clone(), since: self.at.clone() }
    }

    /// The request that resubscribes one topic from its cursor.
    pub fn resubscribe(&self, topic: &str) -> ClientMsg {
        let since = self.at.get(topic).map(|p| (topic.to_owned(), p.clone())).into_iter().collect();
        ClientMsg::Subscribe { topics: vec![topic.to_owned()], since }
    }

    /// Classify one message (batches flattened) and advance the cursors.
    pub fn steps(&mut self, msg: ServerMsg) -> Vec<Step> {
        match msg {
            ServerMsg::Batch { items } => items.into_iter().flat_map(|m| self.steps(m)).collect(),
            ServerMsg::Snapshot(u) => {
                self.at.insert(u.topic.clone(), ResumePoint { epoch: u.epoch.clone(), seq: u.seq });
                vec![Step::Snapshot(u)]
            }
            ServerMsg::Delta(u) => {
                let step = match self.at.get(&u.topic) {
                    Some(p) if p.epoch == u.epoch && u.seq == p.seq + 1 => None,
                    Some(p) if p.epoch == u.epoch && u.seq <= p.seq => Some(Step::Duplicate),
                    _ => Some(Step::Gap { topic: u.topic.clone() }),
                };
                match step {
                    Some(s) => vec![s],
                    None => {
                        self.at.insert(u.topic.clone(), ResumePoint { epoch: u.epoch.clone(), seq: u.seq });
                        vec![Step::Delta(u)]
                    }
                }
            }
            other => vec![Step::Other(other)],
        }
    }
}

/// Delay before reconnect attempt `attempt` (0-based): exponential from 0.5 s, capped at 30 s,
/// with "full jitter" (a uniform draw `jitter` in [0, 1) picks a delay between half and all of the
/// cap), so a wall of screens does not reconnect in lock-step after a server restart.
pub fn backoff_ms(attempt: u32, jitter: f64) -> f64 {
    let cap = (500.0 * 2f64.powi(attempt.min(16) as i32)).min(30_000.0);
    cap * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn u(seq: u64, epoch: &str) -> Update {
        Update { topic: "overview".into(), epoch: epoch.into(), seq, time: "t".into(), data: json!(seq) }
    }

    #[test]
    fn deltas_apply_in_sequence_duplicates_are_ignored_gaps_resubscribe() {
        let mut c = Cursors::new(&["overview"]);
        // A delta before any snapshot cannot be applied.
        assert_eq!(c.steps(ServerMsg::Delta(u(3, "e"))), vec![Step::Gap { topic: "overview".into() }]);
        assert_eq!(c.steps(ServerMsg::Snapshot(u(5, "e"))), vec![Step::Snapshot(u(5, "e"))]);
        let batch =
            ServerMsg::Batch { items: vec![ServerMsg::Delta(u(6, "e")), ServerMsg::Delta(u(6, "e"))] };
        assert_eq!(c.steps(batch), vec![Step::Delta(u(6, "e")), Step::Duplicate]);
        assert_eq!(c.steps(ServerMsg::Delta(u(8, "e"))), vec![Step::Gap { topic: "overview".into() }]);
        // The gap leaves the cursor at 6: the resubscription asks from there.
        assert_eq!(
            serde_json::to_value(c.resubscribe("overview")).expect("serialises"),
            json!({"op": "subscribe", "topics": ["overview"], "since": {"overview": {"epoch": "e", "seq": 6}}})
        );
        // Another epoch (server restarted) is a gap too, until its snapshot arrives.
        assert_eq!(c.steps(ServerMsg::Delta(u(7, "f"))), vec![Step::Gap { topic: "overview".into() }]);
        assert_eq!(c.steps(ServerMsg::Snapshot(u(2, "f"))).len(), 1);
        assert_eq!(c.steps(ServerMsg::Delta(u(3, "f"))), vec![Step::Delta(u(3, "f"))]);
    }

    #[test]
    fn subscribe_resumes_known_topics_only() {
        let mut c = Cursors::new(&["overview", "alerts"]);
        assert_eq!(
            serde_json::to_value(c.subscribe()).expect("serialises"),
            json!({"op": "subscribe", "topics": ["overview", "alerts"]})
        );
        c.steps(ServerMsg::Snapshot(u(9, "e")));
        assert_eq!(
            serde_json::to_value(c.subscribe()).expect("serialises"),
            json!({"op": "subscribe", "topics": ["overview", "alerts"], "since": {"overview": {"epoch": "e", "seq": 9}}})
        );
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(0, 0.0), 250.0);
        assert_eq!(backoff_ms(0, 1.0), 500.0);
        assert_eq!(backoff_ms(3, 1.0), 4_000.0);
        assert_eq!(backoff_ms(10, 1.0), 30_000.0);
        assert_eq!(backoff_ms(1_000, 0.0), 15_000.0);
        assert!(backoff_ms(2, 0.3) > backoff_ms(2, 0.2));
    }
}
