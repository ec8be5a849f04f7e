//! Fan-out: each flush's frames written straight from the sweepers to every connection that is
//! up to date, with no per-connection task woken.
//!
//! A connection's task (see `ws`) reads what its client sends, answers, pings and catches its
//! client up; the frames of the live streams it leaves to the sweep for as long as its
//! connection is *direct*: nothing of its own being written, nothing owed, every subscription
//! at or past the seq the hub last closed into a frame, and no region scope to cut the data to.
//! The flusher ([`flush`]) makes the frames; after each flush the sweepers ([`sweep`]: as many
//! tasks as the connections' runtime has threads, each over its part of the lists) go round the
//! registered connections, one list at a time ([`Conns::sweep_shard`]), and for a direct one
//! whose subscriptions have frames that follow on from their seqs write the frames (headers and
//! the shared texts, one `writev`) without waiting. Anything else is handed to the connection's
//! task, which is woken ([`Conn::kicked`], once until it hands the connection back)
//! and catches up from the hub's kept frames (`hub::Hub::catch_up`):
//! - the kernel took part of the frames: the rest is kept ([`Conn::pause`] gives it to the task,
//!   which sends it first) and the connection stops being direct;
//! - the kernel took nothing (the client is not reading), or the write failed;
//! - the connection is not direct (its task is writing, or it has a scope), or a frame does not
//!   follow on from its seq (say, the round's frames no longer reach back to it).
//!
//! So a frame costs an up-to-date client one `writev` and nothing else: no wake-up, no channel,
//! no poll of its read side or timers. The task and the sweep take turns under the
//! connection's lock: the task marks the connection not direct ([`Conn::pause`]) before it
//! writes or changes its subscriptions, and direct again ([`Conn::resume`]) only when it has
//! caught up with every frame made, under the same lock the sweep writes under. A sweep never
//! waits for a client: each connection's lock is held for one write that does not block, and
//! nowhere else for longer than a few field updates (under it only the socket's own lock is
//! taken, for that write, and the wake-up's; never a topic's).
//!
//! Connections are kept in [`SHARDS`] lists, so that connecting and leaving wait for at most
//! one list's part of a round.
//!
//! Measured with the Node `ws` peer's load generator on the same 2 cores
//! (`scripts/peers-fanout.sh 10000 50 yiping 2`: 10,000 clients, 50 events/s, every delta to
//! every client): the server's CPU fell from 82–85 % of a core (a task woken per client per
//! frame) to 65–66 % on a quiet machine (1.3 µs a delivery); under other load 70–81 %. Nearly
//! all of a sweep's time is the kernel's (perf: 91 % of the server's CPU on the sweeping thread,
//! 79 % in the kernel, most of it TCP on loopback, the client's receiving side included): about
//! 7 µs a client frame, so a round of 10,000 clients takes about 70 ms of a core.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt as _;
use tokio::time::Instant;

use crate::hub::{Frame, Hub, MIN_GAP};
use crate::socket;
use crate::sync::OrPoisoned;

/// How many lists the connections are kept in.
pub const SHARDS: usize = 64;

/// A write side the sweep can write to without waiting ([`socket::Writer`]).
pub trait TryWrite: Send + Sync {
    /// Write what the kernel takes of `parts` now: the bytes taken, or `WouldBlock` for none.
    fn try_write(&self, parts: &[IoSlice<'_>]) -> std::io::Result<usize>;
}

impl<Io: tokio::io::AsyncWrite + Unpin + Send> TryWrite for socket::Writer<Io> {
    fn try_write(&self, parts: &[IoSlice<'_>]) -> std::io::Result<usize> {
        socket::Writer::try_write(self, parts)
    }
}

/// A subscription of a connection to a topic's live stream.
#[derive(Debug)]
pub struct Sub {
    /// The topic's index in the hub.
    pub topic: usize,
    /// The last seq the client was given (or is being given).
    pub seq: u64,
    /// Keeps the topic's frames coming (`hub::Subscription::watch`).
    pub watch: Arc<()>,
}

#[derive(Debug, Default)]
struct Shared {
    subs: Vec<Sub>,
    /// The sweep may write to this connection.
    direct: bool,
    /// What the kernel did not take of the sweep's last write: the task sends it first.
    rest: Vec<u8>,
    /// The task has been woken and has not yet handed the connection back.
    kicked: bool,
    /// How many times the sweep has left frames to the task (see [`Conn::resume`]).
    handed: u64,
}

/// One websocket connection as the fan-out sees it.
pub struct Conn {
    id: u64,
    out: Box<dyn TryWrite>,
    shared: Mutex<Shared>,
    kick: tokio::sync::Notify,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("id", &self.id).field("shared", &self.shared).finish_non_exhaustive()
    }
}

/// What a sweep did for one connection.
#[derive(Debug, PartialEq, Eq)]
enum Offered {
    /// No frame for it.
    Nothing,
    /// Frames written.
    Written(usize),
    /// Frames written in part: the rest is its task's, which was woken.
    Partly(usize),
    /// Left to its task, which was woken.
    Kicked,
}

impl Conn {
    /// Woken when the sweep leaves something to the task: catch up (and send the rest) now.
    pub async fn kicked(&self) {
        self.kick.notified().await;
    }

    /// Stop the sweep writing to this connection: the task writes, or changes its
    /// subscriptions, now. Returns what the sweep's last write left unsent, to be sent first.
    pub fn pause(&self) -> Vec<u8> {
        let mut sh = self.shared.lock().or_poisoned();
        sh.direct = false;
        std::mem::take(&mut sh.rest)
    }

    /// Let the sweep write again, if every subscription is at or past the seq last closed into a
    /// frame (`flushed` of a topic index): true when it may; false when the task has frames to
    /// catch up on first. A connection that must stay with its task (`keep`: a region scope) is
    /// never made direct, but is told the same.
    ///
    /// `flushed` is read before the connection is locked (the sweep must never wait for a
    /// topic's lock). A frame made since is one the sweep has yet to offer (it follows on, or
    /// is handed to the task), or has already handed to the task: then this says false, and the
    /// task catches up again.
    pub fn resume(&self, flushed: impl Fn(usize) -> u64, keep: bool) -> bool {
        let (subs, handed) = {
            let sh = self.shared.lock().or_poisoned();
            (sh.subs.iter().map(|s| s.topic).collect::<Vec<_>>(), sh.handed)
        };
        let marks: Vec<(usize, u64)> = subs.into_iter().map(|topic| (topic, flushed(topic))).collect();
        let mut sh = self.shared.lock().or_poisoned();
        debug_assert!(sh.rest.is_empty(), "the rest is sent before resuming");
        let caught_up = sh.handed == handed
            && sh.rest.is_empty()
            && sh.subs.iter().all(|s| marks.iter().any(|&(t, mark)| t == s.topic && s.seq >= mark));
        if caught_up {
            // Kicks for frames the task has caught up on are spent: no needless wake-up.
            sh.kicked = false;
            let _ = self.kick.notified().now_or_never();
            if !keep {
                sh.direct = true;
            }
        }
        caught_up
    }

    /// Wake the task again (it has more to catch up on, after it has read what its client sent).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// The subscriptions' (topic index, seq), for the task (paused: the sweep changes nothing).
    pub fn subs(&self) -> Vec<(usize, u64)> {
        self.shared.lock().or_poisoned().subs.iter().map(|s| (s.topic, s.seq)).collect()
    }

    /// Set the seq of the subscription to `topic` (paused).
    pub fn set_seq(&self, topic: usize, seq: u64) {
        if let Some(s) = self.shared.lock().or_poisoned().subs.iter_mut().find(|s| s.topic == topic) {
            s.seq = seq;
        }
    }

    /// Subscribe (again) to `sub.topic` (paused).
    pub fn insert(&self, sub: Sub) {
        let mut sh = self.shared.lock().or_poisoned();
        match sh.subs.iter_mut().find(|s| s.topic == sub.topic) {
            Some(s) => *s = sub,
            None => sh.subs.push(sub),
        }
    }

    /// Leave the subscription to `topic`, if any.
    pub fn remove(&self, topic: usize) {
        self.shared.lock().or_poisoned().subs.retain(|s| s.topic != topic);
    }

    /// Leave every subscription.
    pub fn clear(&self) {
        self.shared.lock().or_poisoned().subs.clear();
    }

    /// Write `parts` without waiting: what the kernel did not take of them (empty when it took
    /// all), or `None` when it took nothing (a TCP socket takes a byte or more, or says it would
    /// block) or the write failed.
    fn write(&self, parts: &[IoSlice<'_>]) -> Option<Vec<u8>> {
        let n = self.out.try_write(parts).ok().filter(|&n| n > 0)?;
        let mut rest = Vec::new();
        let mut skip = n;
        for p in parts {
            let from = skip.min(p.len());
            rest.extend_from_slice(&p[from..]);
            skip -= from;
        }
        Some(rest)
    }

    /// Offer the round's frames (the newest [`ROUND_FRAMES`] of each topic, by topic index,
    /// oldest first): every one after a
    /// subscription's seq written at once if the connection is direct and they follow on,
    /// otherwise left to the task. `mine` and `heads` are the sweep's, reused.
    fn offer(
        &self,
        recent: &[VecDeque<Arc<Frame>>],
        mine: &mut Vec<(usize, usize, usize)>,
        heads: &mut Vec<([u8; 10], usize)>,
    ) -> Offered {
        let mut sh = self.shared.lock().or_poisoned();
        // (subscription, topic, the first of the topic's frames it is to be sent).
        mine.clear();
        let mut follows = true;
        let mut count = 0;
        for (i, sub) in sh.subs.iter().enumerate() {
            let Some(list) = recent.get(sub.topic) else { continue };
            let Some(from) = list.iter().position(|f| f.last > sub.seq) else { continue };
            let mut next = sub.seq + 1;
            for f in list.range(from..) {
                follows &= f.first == next;
                next = f.last + 1;
            }
            count += list.len() - from;
            mine.push((i, sub.topic, from));
        }
        if mine.is_empty() {
            return Offered::Nothing;
        }
        let written = if !sh.direct || !follows {
            None
        } else if let (1, [(_, topic, from)]) = (count, &mine[..]) {
            let text = recent[*topic][*from].text.as_bytes();
            let (head, len) = socket::frame_header(socket::TEXT, text.len());
            self.write(&[IoSlice::new(&head[..len]), IoSlice::new(text)])
        } else {
            let texts: Vec<&[u8]> = mine
                .iter()
                .flat_map(|&(_, t, from)| recent[t].range(from..).map(|f| f.text.as_bytes()))
                .collect();
            self.write(&socket::text_parts(heads, &texts))
        };
        let offered = match written {
            Some(rest) => {
                for &(i, topic, _) in mine.iter() {
                    sh.subs[i].seq = recent[topic].back().map_or(sh.subs[i].seq, |f| f.last);
                }
                if rest.is_empty() {
                    return Offered::Written(count);
                }
                // Rare: the client's socket is nearly full. Its task sends the rest.
                sh.rest = rest;
                Offered::Partly(count)
            }
            // Not direct or not following on; not reading (`WouldBlock`), or gone: its task
            // catches up, waits for the socket, or finds the error.
            None => Offered::Kicked,
        };
        sh.direct = false;
        sh.handed += 1;
        let wake = !std::mem::replace(&mut sh.kicked, true);
        drop(sh);
        if wake {
            self.kick.notify_one();
        }
        offered
    }
}

/// Every connection, in [`SHARDS`] lists.
#[derive(Debug)]
pub struct Conns {
    shards: Vec<Mutex<Vec<Arc<Conn>>>>,
    next: AtomicU64,
}

impl Default for Conns {
    fn default() -> Conns {
        Conns { shards: (0..SHARDS).map(|_| Mutex::default()).collect(), next: AtomicU64::new(0) }
    }
}

/// What a sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Frames written by the sweep.
    pub frames: u64,
    /// Connections left to their tasks.
    pub kicked: u64,
}

impl Conns {
    /// Register a connection that writes through `out`; not direct until its task resumes it.
    pub fn register(&self, out: Box<dyn TryWrite>) -> Arc<Conn> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn { id, out, shared: Mutex::default(), kick: tokio::sync::Notify::new() });
        self.shards[id as usize % SHARDS].lock().or_poisoned().push(conn.clone());
        conn
    }

    /// Forget a connection (its task ends).
    pub fn unregister(&self, conn: &Conn) {
        let mut shard = self.shards[conn.id as usize % SHARDS].lock().or_poisoned();
        if let Some(i) = shard.iter().position(|c| c.id == conn.id) {
            shard.swap_remove(i);
        }
    }

    /// Offer one flush's frames (by topic index) to every connection.
    #[cfg(test)]
    pub fn sweep(&self, frames: &[Option<Arc<Frame>>]) -> Swept {
        let recent: Vec<VecDeque<Arc<Frame>>> = frames.iter().map(|f| f.iter().cloned().collect()).collect();
        let mut swept = Swept::default();
        for shard in 0..SHARDS {
            let s = self.sweep_shard(shard, &recent);
            swept.frames += s.frames;
            swept.kicked += s.kicked;
        }
        swept
    }

    /// Offer the round's frames (by topic index, oldest first) to the connections of one list.
    pub fn sweep_shard(&self, shard: usize, recent: &[VecDeque<Arc<Frame>>]) -> Swept {
        let mut swept = Swept::default();
        let (mut mine, mut heads) = (Vec::new(), Vec::new());
        for conn in self.shards[shard % SHARDS].lock().or_poisoned().iter() {
            match conn.offer(recent, &mut mine, &mut heads) {
                Offered::Nothing => {}
                Offered::Written(n) => swept.frames += n as u64,
                Offered::Partly(n) => {
                    swept.frames += n as u64;
                    swept.kicked += 1;
                }
                Offered::Kicked => swept.kicked += 1,
            }
        }
        swept
    }
}

/// The newest frames of each topic a round of the sweep offers: a connection the round reaches
/// after several flushes is sent all of them in one write.
const ROUND_FRAMES: usize = 8;

/// What the flusher hands the sweepers: the newest [`ROUND_FRAMES`] frames of each topic, by
/// topic index, oldest first.
pub type Round = Arc<Vec<VecDeque<Arc<Frame>>>>;

/// The channel from the flusher ([`flush`]) to the sweepers ([`sweep`]).
pub fn rounds() -> (tokio::sync::watch::Sender<Round>, tokio::sync::watch::Receiver<Round>) {
    tokio::sync::watch::channel(Round::default())
}

/// Flush the hub into frames and hand each flush's to the sweepers, until the task is dropped.
///
/// A flush is [`GATHER`](crate::hub::GATHER) after the first delta waiting for it was published
/// (so that a batch's deltas travel together) and at least [`MIN_GAP`] after the last (what is
/// published meanwhile waits for the next frame).
pub async fn flush(hub: &Hub, rounds: tokio::sync::watch::Sender<Round>) {
    let mut recent: Vec<VecDeque<Arc<Frame>>> = (0..hub.len()).map(|_| VecDeque::new()).collect();
    let mut last: Option<Instant> = None;
    loop {
        hub.wait_pending().await;
        let Some(gathered) = hub.gathered_at() else { continue };
        tokio::time::sleep_until(last.map_or(gathered, |l| gathered.max(l + MIN_GAP))).await;
        let mut made = false;
        for (list, frame) in recent.iter_mut().zip(hub.flush()) {
            if let Some(f) = frame {
                if list.len() == ROUND_FRAMES {
                    list.pop_front();
                }
                list.push_back(f);
                made = true;
            }
        }
        // The gap is kept from the last frame made, not from an empty flush (a delta published
        // as the last flush began was in it).
        if made {
            last = Some(Instant::now());
            rounds.send_replace(Arc::new(recent.clone()));
        }
    }
}

/// Write the flusher's frames to the connections of part `part` of `parts` of the lists (those
/// whose index is `part` modulo `parts`), until the flusher ends; `swept` is told what each
/// list's sweep did.
///
/// Each round goes over the part's lists one at a time, yielding between them so that the
/// connections' tasks run. A flush made during a round starts the round afresh where it is: the
/// connections not yet reached are sent its frame with the earlier ones, in one write, and the
/// lists already passed get it when the round comes back to them. So when a round takes longer
/// than the time between frames (10,000 clients on a busy machine), a new frame does not wait
/// for the round to end, and a late connection costs fewer writes.
///
/// Several sweepers on as many threads write at once: a frame's writes are nearly all the
/// kernel's work (on loopback, its delivery to the client too), which one thread does at about
/// 7 µs a client.
pub async fn sweep(
    conns: &Conns,
    mut rounds: tokio::sync::watch::Receiver<Round>,
    part: usize,
    parts: usize,
    mut swept: impl FnMut(Swept),
) {
    let mine: Vec<usize> = (part..SHARDS).step_by(parts.max(1)).collect();
    let mut recent = Round::default();
    let (mut cursor, mut left) = (0, 0);
    loop {
        let fresh = if left == 0 {
            if rounds.changed().await.is_err() {
                return;
            }
            true
        } else {
            rounds.has_changed().unwrap_or(false)
        };
        if fresh {
            recent = rounds.borrow_and_update().clone();
            left = mine.len();
        }
        let Some(&shard) = mine.get(cursor) else { return };
        // A sweep that panicked (a bug) must not end every client's stream: the rest go on
        // (locks are taken `or_poisoned`), and a connection it missed is sent its frames with
        // the next, or is caught up by its task when they do not follow on.
        let done =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conns.sweep_shard(shard, &recent)));
        swept(done.unwrap_or_else(|_| {
            tracing::error!("the fan-out's sweep panicked; it goes on with the next list");
            Swept::default()
        }));
        cursor = (cursor + 1) % mine.len();
        left -= 1;
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;
    use serde_json::json;

    /// A write side that takes at most `room` more bytes, counting its writes.
    #[derive(Default)]
    struct Pipe {
        taken: Mutex<Vec<u8>>,
        room: Mutex<usize>,
        writes: AtomicU64,
    }

    impl TryWrite for Arc<Pipe> {
        fn try_write(&self, parts: &[IoSlice<'_>]) -> std::io::Result<usize> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            let mut room = self.room.lock().or_poisoned();
            if *room == 0 {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            let mut taken = self.taken.lock().or_poisoned();
            let before = taken.len();
            for p in parts {
                let n = p.len().min(*room - (taken.len() - before));
                taken.extend_from_slice(&p[..n]);
            }
            let n = taken.len() - before;
            *room -= n;
            Ok(n)
        }
    }

    fn pipe(room: usize) -> Arc<Pipe> {
        Arc::new(Pipe { taken: Mutex::default(), room: Mutex::new(room), writes: AtomicU64::new(0) })
    }

    /// The texts of the server frames in `bytes` (unmasked, 7- or 16-bit lengths).
    fn texts(mut bytes: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let (head, len) = match bytes[1] {
                126 => (4, usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))),
                l => (2, usize::from(l)),
            };
            out.push(String::from_utf8(bytes[head..head + len].to_vec()).expect("text"));
            bytes = &bytes[head + len..];
        }
        out
    }

    fn hub() -> Hub {
        Hub::new(&[("a", "e1".into(), 0), ("b", "e1".into(), 0)])
    }

    fn subscribed(hub: &Hub, conns: &Conns, out: &Arc<Pipe>) -> Arc<Conn> {
        let conn = conns.register(Box::new(out.clone()));
        for t in ["a", "b"] {
            let s = hub.subscribe(t, None, || (String::new(), json!(null)));
            conn.insert(Sub { topic: s.topic, seq: s.seq, watch: s.watch });
        }
        conn
    }

    fn publish(hub: &Hub, topic: &str, n: u64) {
        hub.publish(topic, "2026-12-06T08:00:00+08:00", &json!(n));
    }

    #[test]
    fn an_up_to_date_connection_is_written_to_and_the_others_are_left_to_their_tasks() {
        let (hub, conns) = (hub(), Conns::default());
        let (out1, out2) = (pipe(1 << 20), pipe(1 << 20));
        let direct = subscribed(&hub, &conns, &out1);
        let paused = subscribed(&hub, &conns, &out2);
        assert!(direct.resume(|t| hub.flushed(t), false));
        publish(&hub, "a", 1);
        publish(&hub, "b", 2);
        publish(&hub, "b", 3);
        let frames = hub.flush();
        assert_eq!(conns.sweep(&frames), Swept { frames: 2, kicked: 1 });
        // Both topics' frames in one write, each whole.
        let got = texts(&out1.taken.lock().or_poisoned());
        assert_eq!((got.len(), out1.writes.load(Ordering::Relaxed)), (2, 1));
        assert!(got[0].contains(r#""topic":"a""#) && got[1].starts_with(r#"{"type":"batch""#));
        assert_eq!(direct.subs(), vec![(0, 1), (1, 2)], "seqs: a 1, b 1 and 2");
        // The paused one was not written to, and its task is woken to catch up.
        assert!(out2.taken.lock().or_poisoned().is_empty());
        assert_eq!(paused.subs(), vec![(0, 0), (1, 0)]);
        assert!(!paused.resume(|t| hub.flushed(t), false), "behind: its task catches up first");
        assert!(ready(paused.kicked()), "kicked");
        // A frame for neither topic the connection has: nothing.
        direct.remove(0);
        publish(&hub, "a", 4);
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
        conns.unregister(&paused);
        publish(&hub, "a", 5);
        assert_eq!(conns.sweep(&hub.flush()), Swept::default());
    }

    #[test]
    fn what_the_kernel_does_not_take_is_kept_for_the_task_whole() {
        let (hub, conns) = (hub(), Conns::default());
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        assert!(conn.resume(|t| hub.flushed(t), false));
        publish(&hub, "a", 1);
        publish(&hub, "a", 2);
        *out.room.lock().or_poisoned() = 10;
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 1, kicked: 1 });
        assert_eq!(conn.subs()[0], (0, 2), "the frame is the connection's: its task sends the rest");
        let mut all = out.taken.lock().or_poisoned().clone();
        assert_eq!(all.len(), 10);
        // Not direct until its task has sent the rest.
        publish(&hub, "a", 3);
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
        all.extend(conn.pause());
        let got = texts(&all);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with(r#"{"type":"batch""#) && got[0].ends_with("]}"));
        // A client that takes nothing: left to its task, nothing counted as sent.
        let (texts_left, at) = hub.catch_up(0, 2).expect("held");
        assert_eq!((texts_left.len(), at), (1, 3));
        conn.set_seq(0, 3);
        assert!(conn.resume(|t| hub.flushed(t), false));
        *out.room.lock().or_poisoned() = 0;
        publish(&hub, "a", 4);
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
        assert_eq!(conn.subs()[0], (0, 3));
    }

    #[test]
    fn a_frame_that_does_not_follow_on_is_left_to_the_task() {
        let (hub, conns) = (hub(), Conns::default());
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        publish(&hub, "a", 1);
        publish(&hub, "a", 2);
        hub.flush();
        // The task has sent 1 only (say, a resume point inside the frame).
        conn.set_seq(0, 1);
        assert!(!conn.resume(|t| hub.flushed(t), false));
        conn.set_seq(0, 2);
        assert!(conn.resume(|t| hub.flushed(t), false));
        conn.set_seq(0, 1);
        publish(&hub, "a", 3);
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
        // A scoped connection is never direct, but is told when it is caught up.
        let scoped = subscribed(&hub, &conns, &pipe(1 << 20));
        assert!(scoped.resume(|t| hub.flushed(t), true));
        publish(&hub, "b", 4);
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 2 });
    }

    #[test]
    fn a_frame_caught_up_on_by_the_task_is_not_written_again_and_one_made_after_is_written_once() {
        let (hub, conns) = (hub(), Conns::default());
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        publish(&hub, "a", 1);
        let frames = hub.flush();
        // The task catches up on the frame before the sweep comes to it, and hands back.
        assert!(!conn.resume(|t| hub.flushed(t), false));
        let (texts_a, at) = hub.catch_up(0, 0).expect("held");
        assert_eq!((texts_a.len(), at), (1, 1));
        conn.set_seq(0, at);
        assert!(conn.resume(|t| hub.flushed(t), false));
        assert_eq!(conns.sweep(&frames), Swept::default(), "not twice");
        assert_eq!(out.writes.load(Ordering::Relaxed), 0);
        // A frame made after the hand-back follows on: written once, by the sweep.
        publish(&hub, "a", 2);
        let frames = hub.flush();
        assert_eq!(conns.sweep(&frames), Swept { frames: 1, kicked: 0 });
        assert_eq!(conns.sweep(&frames), Swept::default(), "a frame is offered once");
        assert_eq!(out.writes.load(Ordering::Relaxed), 1);
        assert_eq!(conn.subs()[0], (0, 2));
    }

    #[test]
    fn a_frame_handed_to_the_task_as_it_hands_back_is_caught_up_on_not_left_waiting() {
        let (hub, conns) = (hub(), Conns::default());
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        // The task reads where the topics are; before it locks the connection, a frame is made
        // and the sweep, finding the connection not direct, hands it to the task.
        let resumed = conn.resume(
            |t| {
                let mark = hub.flushed(t);
                if t == 0 {
                    publish(&hub, "a", 1);
                    assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
                }
                mark
            },
            false,
        );
        assert!(!resumed, "not direct: the sweep has passed, and no later frame may come");
        assert!(ready(conn.kicked()), "the task is woken to catch up");
        let (texts_a, at) = hub.catch_up(0, 0).expect("held");
        assert_eq!((texts_a.len(), at), (1, 1));
        conn.set_seq(0, at);
        assert!(conn.resume(|t| hub.flushed(t), false));
    }

    #[test]
    fn a_task_is_woken_once_however_many_sweeps_leave_it_frames() {
        let (hub, conns) = (hub(), Conns::default());
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        for n in 1..=3 {
            publish(&hub, "a", n);
            assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
        }
        assert!(ready(conn.kicked()));
        assert!(!ready(conn.kicked()), "one wake for the three");
        // Handed back: the kicks are spent, and the next sweep wakes it again if it must.
        conn.kick();
        conn.set_seq(0, 3);
        assert!(conn.resume(|t| hub.flushed(t), false));
        assert!(!ready(conn.kicked()), "no needless wake-up after the hand-back");
        conn.pause();
        publish(&hub, "a", 4);
        assert_eq!(conns.sweep(&hub.flush()), Swept { frames: 0, kicked: 1 });
        assert!(ready(conn.kicked()));
    }

    #[test]
    fn a_connection_a_round_reaches_late_is_sent_every_frame_since_in_one_write() {
        let (hub, conns) = (hub(), Conns::default());
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        assert!(conn.resume(|t| hub.flushed(t), false));
        let mut recent: Vec<VecDeque<Arc<Frame>>> = vec![VecDeque::new(); 2];
        for n in 1..=2 {
            publish(&hub, "a", n);
            recent[0].extend(hub.flush()[0].clone());
        }
        let swept: Vec<Swept> = (0..SHARDS).map(|s| conns.sweep_shard(s, &recent)).collect();
        assert_eq!(swept.iter().map(|s| s.frames).sum::<u64>(), 2);
        assert_eq!(
            (texts(&out.taken.lock().or_poisoned()).len(), out.writes.load(Ordering::Relaxed)),
            (2, 1)
        );
        // The next round offers the same frames and the newest: only the newest is written.
        publish(&hub, "a", 3);
        recent[0].extend(hub.flush()[0].clone());
        let written: u64 = (0..SHARDS).map(|s| conns.sweep_shard(s, &recent).frames).sum();
        assert_eq!((written, conn.subs()[0]), (1, (0, 3)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_publish_is_sent_at_once_and_frames_keep_their_gap() {
        use std::time::Duration;
        let (hub, conns) = (Arc::new(hub()), Arc::new(Conns::default()));
        let out = pipe(1 << 20);
        let conn = subscribed(&hub, &conns, &out);
        assert!(conn.resume(|t| hub.flushed(t), false));
        let (h, c) = (hub.clone(), conns.clone());
        let (tx, rx) = rounds();
        let flusher = tokio::spawn(async move { flush(&h, tx).await });
        let sweeper = tokio::spawn(async move { sweep(&c, rx, 0, 1, |_| {}).await });
        let written = || texts(&out.taken.lock().or_poisoned()).len();
        let at = |ms: u64| tokio::time::sleep_until(Instant::now() + Duration::from_millis(ms));
        publish(&hub, "a", 1);
        at(1).await;
        assert_eq!(written(), 0, "gathering");
        at(2).await;
        assert_eq!(written(), 1, "sent once gathered ({:?})", crate::hub::GATHER);
        // Two publishes soon after travel together, when the gap since the last frame is over.
        publish(&hub, "a", 2);
        publish(&hub, "a", 3);
        at(45).await;
        assert_eq!(written(), 1, "the gap");
        at(10).await;
        assert_eq!(written(), 2);
        assert_eq!(conn.subs()[0], (0, 3));
        // After a quiet while, the next publish again goes at once.
        at(1000).await;
        publish(&hub, "a", 4);
        at(3).await;
        assert_eq!(written(), 3);
        flusher.abort();
        sweeper.abort();
    }

    #[tokio::test]
    async fn two_sweepers_split_the_lists_and_take_a_new_round_in_the_middle_of_one() {
        let (hub, conns) = (hub(), Arc::new(Conns::default()));
        // Two connections in every list.
        let outs: Vec<Arc<Pipe>> = (0..2 * SHARDS).map(|_| pipe(1 << 20)).collect();
        for out in &outs {
            assert!(subscribed(&hub, &conns, out).resume(|t| hub.flushed(t), false));
        }
        let (tx, rx) = rounds();
        let sweepers: Vec<_> = (0..2)
            .map(|part| {
                let (conns, rx) = (conns.clone(), rx.clone());
                tokio::spawn(async move { sweep(&conns, rx, part, 2, |_| {}).await })
            })
            .collect();
        let round = |frames: &[Arc<Frame>]| Arc::new(vec![frames.iter().cloned().collect(), VecDeque::new()]);
        publish(&hub, "a", 1);
        let first = hub.flush()[0].clone().expect("a frame");
        tx.send_replace(round(std::slice::from_ref(&first)));
        // Let each sweeper do a few lists, then make the next frame in the middle of their pass.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        publish(&hub, "a", 2);
        let second = hub.flush()[0].clone().expect("a frame");
        tx.send_replace(round(&[first, second]));
        while outs.iter().any(|o| texts(&o.taken.lock().or_poisoned()).len() < 2) {
            tokio::task::yield_now().await;
        }
        for _ in 0..4 * SHARDS {
            tokio::task::yield_now().await;
        }
        let mut both_at_once = 0;
        for out in &outs {
            let got = texts(&out.taken.lock().or_poisoned());
            let seqs: Vec<bool> =
                ["\"seq\":1", "\"seq\":2"].iter().zip(&got).map(|(s, t)| t.contains(s)).collect();
            assert_eq!((got.len(), seqs), (2, vec![true, true]), "each frame once, in order: {got:?}");
            both_at_once += usize::from(out.writes.load(Ordering::Relaxed) == 1);
        }
        // The lists the first round had passed got the second frame alone; the rest got both in
        // one write, from the second round taken in the middle of the pass.
        assert!(both_at_once > 0 && both_at_once < outs.len(), "{both_at_once} of {}", outs.len());
        drop(tx);
        for s in sweepers {
            s.await.expect("a sweeper ends with the flusher");
        }
    }

    /// Is `f` ready at its first poll?
    fn ready(f: impl std::future::Future<Output = ()>) -> bool {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        f.as_mut().poll(&mut cx).is_ready()
    }
}
