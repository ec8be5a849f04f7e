//! The write side, from an accepted event to the wall: a batch of events folded and one delta
//! per topic published (then one overview update), the alert rules observing each subject's
//! newest report, alert steps stored in the audit trail before they are published, and the
//! audit of every write.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use yiping_protocol::instant::Timestamp;
use yiping_protocol::topics::{self, OVERVIEW};

use crate::state::{AppState, now_rfc3339};
use crate::store::{self, Appended, Located};
use crate::sync::OrPoisoned;
use crate::{alerts, fold, trail};

impl AppState {
    /// Fold a batch of newly stored events (one [`store::Part`]) and publish one delta per topic
    /// they changed (the log gave that topic's events its seq), then one overview update. The
    /// alert rules observe them at the clock's now, or, for events from the log stream (`logged`),
    /// at the time they were received, the same on every node.
    pub(crate) fn fold_and_publish(
        &self,
        events: &[Located],
        places: &[Appended],
        logged: Option<crate::ingest::Logged>,
    ) {
        let mut fold = self.fold.lock().or_poisoned();
        let mut changes = fold::Changes::default();
        // The seq the log gave each topic's events (one per topic: the batch's delta's).
        let mut seqs: Vec<(&'static str, u64)> = Vec::new();
        // Which new events are their entity's newest report (the rules learn only from those).
        let mut newest = Vec::with_capacity(events.len());
        let (mut accepted, mut duplicates) = (0, 0);
        for (l, a) in events.iter().zip(places) {
            match a {
                Appended::New { tseq, .. } => {
                    let change = fold.apply_to(&l.event, &l.adcode, &mut changes);
                    newest.push(change.newest);
                    match seqs.iter_mut().find(|(t, _)| *t == change.topic) {
                        // Shared by the batch's events of a topic: else the check below fails.
                        Some((_, seq)) if *seq != *tseq => *seq = u64::MAX,
                        Some(_) => {}
                        None => seqs.push((change.topic, *tseq)),
                    }
                    accepted += 1;
                }
                Appended::Duplicate { .. } => {
                    newest.push(false);
                    duplicates += 1;
                }
            }
        }
        self.metrics.accepted.fetch_add(accepted, Ordering::Relaxed);
        self.metrics.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        // One delta per topic for the whole batch, made from the state it left.
        for (topic, delta) in fold.deltas(changes) {
            let time = fold.topic_time_text(topic);
            let seq = self.hub.publish(topic, &time, &delta);
            let logged = seqs.iter().find(|(t, _)| *t == topic).map(|(_, s)| *s);
            if logged != Some(seq) {
                // A bug: the next start-up will refuse the log until it is fixed.
                tracing::error!(
                    topic,
                    seq,
                    ?logged,
                    "a delta's seq differs from the one the log gave its events"
                );
                debug_assert_eq!(Some(seq), logged, "topic seq follows the log");
            }
        }
        if accepted > 0 {
            let time = fold.last_time().map_or_else(now_rfc3339, |t| t.to_string());
            self.hub.publish(OVERVIEW, &time, &self.live_overview(&fold));
        }
        drop(fold);
        // The rules about each new event's subject, right away: a red alert must reach the wall
        // within a second of its event.
        // Each event's steps are stored and applied before the next event is observed, so
        // several events about one subject in a batch see each other's alerts (one raise, not
        // one per event). From the log stream, the steps of a whole message are proposed at
        // once and settled in order when they come back, to the same effect (a second raise of
        // a subject becomes an escalation if worse, else nothing).
        let now = logged.map_or_else(|| self.clock.now(), |l| l.time);
        let mut book = self.book.lock().or_poisoned();
        match logged.zip(self.cluster.get()) {
            // From the log stream: every node observes (what the rules remember stays alike),
            // one node proposes what they decided, once for the whole message.
            Some((logged, cluster)) => {
                let mut proposed = Vec::new();
                for (l, is_newest) in events.iter().zip(newest) {
                    if is_newest {
                        proposed.extend(book.observe(&l.event, &l.adcode, now));
                    }
                }
                cluster.propose(proposed, logged.seq, now, self.clock.now());
            }
            None => {
                for (l, is_newest) in events.iter().zip(newest) {
                    if is_newest {
                        let pending = book.observe(&l.event, &l.adcode, now);
                        if let Err(e) = self.commit_alerts(&mut book, &pending, now, None) {
                            tracing::error!("alert steps not stored: {e}");
                        }
                    }
                }
            }
        }
    }

    /// Store the book's proposed steps in the trail (one transaction) as of `time`, apply them,
    /// and publish the alerts they changed. Called with the book locked, so trail order is topic
    /// order. Steps that come of the log stream's message `stream_seq` note it in the same
    /// transaction ([`crate::trail::Trail::alerts_position`]).
    pub(crate) fn commit_alerts(
        &self,
        book: &mut alerts::Book,
        pending: &[alerts::Pending],
        time: Timestamp,
        stream_seq: Option<u64>,
    ) -> Result<Vec<yiping_protocol::alerts::Alert>, store::StoreError> {
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let time = time.to_string();
        let entries: Vec<trail::NewEntry> = pending.iter().map(|p| p.entry(&time)).collect();
        let seqs = self.trail.lock().or_poisoned().append_all_at(&entries, stream_seq)?;
        // Each alert changed, as the last step left it, in the order of their last steps (a
        // slot per step, emptied when the alert changes again: a tick can step every alert).
        let mut slots: Vec<Option<yiping_protocol::alerts::Alert>> = Vec::new();
        let mut slot_of: HashMap<String, usize> = HashMap::new();
        for (n, seq) in entries.into_iter().zip(seqs) {
            let e = n.stored(seq);
            if let Some(a) = book.apply(&e) {
                if let Some(old) = slot_of.insert(a.id.clone(), slots.len()) {
                    slots[old] = None;
                }
                slots.push(Some(a.clone()));
            }
        }
        let data = yiping_protocol::alerts::AlertsData { alerts: slots.into_iter().flatten().collect() };
        self.hub.publish(topics::ALERTS, &time, &data);
        self.metrics.alert_steps.fetch_add(pending.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(data.alerts)
    }

    /// Record a write in the audit trail (its time is now); refuses the write if it cannot be.
    pub(crate) fn audit(&self, mut e: trail::NewEntry) -> Result<u64, store::StoreError> {
        if e.time.is_empty() {
            e.time = self.clock.now().to_string();
        }
        if e.body.is_null() {
            e.body = serde_json::json!({});
        }
        self.trail.lock().or_poisoned().append(&e)
    }

    /// Run the alert rules' clock: time-driven rules and escalation, as of the clock's now.
    pub fn alert_tick(&self) {
        self.alert_tick_at(self.clock.now(), None);
    }

    /// Run the time-driven rules and escalation as of `now`: their steps stored here, or, for a
    /// tick from the log stream (its message `stream_seq`: the same instant on every node),
    /// proposed through the stream by the node that holds the clock's lease.
    pub fn alert_tick_at(&self, now: Timestamp, stream_seq: Option<u64>) {
        let mut book = self.book.lock().or_poisoned();
        let pending = book.tick(now);
        match stream_seq.zip(self.cluster.get()) {
            Some((seq, cluster)) => cluster.propose(pending, seq, now, self.clock.now()),
            None => {
                if let Err(e) = self.commit_alerts(&mut book, &pending, now, None) {
                    tracing::error!("alert steps not stored: {e}");
                }
            }
        }
    }

    /// Apply the rules' steps that the node holding the clock's lease proposed as of `time`
    /// (log stream message `stream_seq`): those that still change something here, raises
    /// numbered by this book, which every node's is alike ([`alerts::Book::settle`]).
    pub fn take_proposals(
        &self,
        proposed: Vec<alerts::Pending>,
        time: Timestamp,
        stream_seq: u64,
    ) -> Result<(), store::StoreError> {
        let mut book = self.book.lock().or_poisoned();
        let settled = book.settle(proposed);
        self.commit_alerts(&mut book, &settled, time, Some(stream_seq)).map(drop)
    }
}
