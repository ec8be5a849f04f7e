//! Wire types shared by the yiping server and app.
//!
//! The websocket envelope (DESIGN §5) is fixed so that any client, in any language, can speak it:
//!
//! - client → server: [`ClientMsg`]: `{"op":"subscribe","topics":[…],"since":{topic:{epoch,seq}}}`,
//!   `{"op":"unsubscribe","topics":[…]}`, `{"op":"ping"}`, and for time travel
//!   `{"op":"replay","at","speed"}` and `{"op":"live"}`;
//! - server → client: [`ServerMsg`]: `{"type":"snapshot"|"delta","topic","epoch","seq","time","data"}`,
//!   `{"type":"batch","items":[…]}`, `{"type":"pong"}`, `{"type":"error","message"}`, and
//!   `{"type":"replay","epoch","at","speed"}` where a replay stands;
//! - presenting (a console drives a named wall, [`present`]): `{"op":"join","wall","part","view"}`
//!   and `{"op":"report","view","base"}` from a wall's pages, `{"op":"drive","wall","take","force"}`,
//!   `{"op":"release"}`, `{"op":"show","view"}`, `{"op":"set","setting"}` and `{"op":"cue","cue"}`
//!   from a console; `{"type":"wall",…}` (the wall's state) and `{"type":"cue",…}` back.
//!
//! **Replay** (time travel): `replay` puts the connection's subscribed topics as of instant `at`
//! (every event whose time is at or before it), in a stream of their own: a new epoch, snapshots
//! at seq 0, then, while `speed` > 0, deltas in event-time order as the replayed clock moves on at
//! `speed` × real time. The same envelope, so a client applies them as it applies live ones. A
//! `replay` message says where the clock stands a few times a second; `replay` again seeks or
//! changes speed (0 pauses); `live` returns to the live streams (fresh snapshots). A replay never
//! writes anything and never raises alerts; other connections stay live.
//!
//! Every topic stream has a server epoch and a per-topic `seq` that grows by exactly 1 with each
//! delta; a snapshot carries the seq of the last delta it includes. A theme topic's delta carries
//! what one batch of events changed (one write of the server's log: the ingest requests that
//! waited together, or one message of a cluster's log stream): the entities it changed and the
//! figures of the regions it moved, as the batch left them. `time` is the data's own time (UTC,
//! RFC 3339), not the time of sending, so a client can show how fresh each panel is.
//!
//! What goes inside `data` is the topic's own; each topic's payload type lives in [`topics`].

pub mod alerts;
pub mod api;
pub mod events;
pub mod instant;
pub mod periods;
pub mod present;
pub mod rules;
pub mod topics;
pub mod water;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The protocol version, reported by `/healthz` and `/api/v1/topics`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Where a client left off in one topic's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResumePoint {
    /// The server epoch the seq belongs to.
    pub epoch: String,
    /// The last seq the client applied.
    pub seq: u64,
}

/// A message from client to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientMsg {
    /// Start receiving topics; `since` asks to resume a topic from a point instead of a snapshot.
    Subscribe {
        /// Topic names.
        topics: Vec<String>,
        /// Resume points by topic.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        since: BTreeMap<String, ResumePoint>,
    },
    /// Stop receiving topics.
    Unsubscribe {
        /// Topic names.
        topics: Vec<String>,
    },
    /// Ask for a `pong`.
    Ping,
    /// Time travel: show the subscribed topics as of `at`, then play on at `speed`× (see the
    /// crate docs).
    Replay {
        /// The instant, RFC 3339 with any offset.
        at: String,
        /// Replayed seconds per real second (0: hold still at `at`; at most [`MAX_REPLAY_SPEED`]).
        #[serde(default)]
        speed: f64,
    },
    /// Leave a replay: back to the live streams.
    Live,
    /// Presenting: take part in the wall `wall` as the wall itself or as a console's miniature,
    /// showing `view` now (see [`present`]).
    Join {
        /// The wall's name (letters, digits, `-` and `_`, at most 40).
        wall: String,
        /// How the page takes part.
        part: present::Part,
        /// What the page shows now (a wall that is new to the server starts from it).
        #[serde(default)]
        view: Option<present::View>,
        /// The page's size in CSS pixels.
        #[serde(default)]
        size: Option<[u32; 2]>,
        /// `Some(true)` when it has a carousel (None: it has none); whether it is held is the
        /// presenter's to say.
        #[serde(default)]
        carousel: Option<bool>,
    },
    /// Presenting: a joined page's view changed by a touch on it or by its carousel (`base`: the
    /// version it showed).
    Report {
        /// What it shows now.
        view: present::View,
        /// The [`present::WallState::version`] it changed from.
        base: u64,
        /// The page changed it itself (its carousel moved on), not a touch: not audited.
        #[serde(default)]
        auto: bool,
    },
    /// Presenting: watch the wall `wall` (a console), and with `take` control it (presenters and
    /// admins); `force` takes it over from another controller.
    Drive {
        /// The wall's name.
        wall: String,
        /// Ask for control.
        #[serde(default)]
        take: bool,
        /// Take it from whoever has it.
        #[serde(default)]
        force: bool,
    },
    /// Presenting: give up control of the wall watched.
    Release,
    /// Presenting: the controller sets the view (`n`: the control's number, echoed in the state).
    Show {
        /// The view.
        view: present::View,
        /// The control's number.
        #[serde(default)]
        n: u64,
    },
    /// Presenting: the controller blanks, highlights, runs or holds the carousel.
    Set {
        /// What.
        setting: present::Setting,
        /// The control's number.
        #[serde(default)]
        n: u64,
    },
    /// Presenting: a momentary cue (the pointer) from the controller to the wall's pages.
    Cue {
        /// What.
        cue: present::Cue,
        /// The control's number.
        #[serde(default)]
        n: u64,
    },
}

/// The fastest replay: an hour of events per second.
pub const MAX_REPLAY_SPEED: f64 = 3600.0;

/// Where a replay stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplayClock {
    /// The replay's stream epoch (its snapshots and deltas carry it).
    pub epoch: String,
    /// The replayed instant, UTC RFC 3339: every event at or before it is shown.
    pub at: String,
    /// Replayed seconds per real second (0: paused).
    pub speed: f64,
}

/// One state update of a topic: a full snapshot or a delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Update {
    /// Topic name.
    pub topic: String,
    /// Server epoch of the stream.
    pub epoch: String,
    /// Sequence number in the topic's stream.
    pub seq: u64,
    /// The data's own time, UTC RFC 3339.
    pub time: String,
    /// The topic's payload.
    pub data: serde_json::Value,
}

/// A message from server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerMsg {
    /// The full current state of a topic.
    Snapshot(Update),
    /// One change to a topic's state.
    Delta(Update),
    /// Several messages in one frame.
    Batch {
        /// The messages, in order.
        items: Vec<ServerMsg>,
    },
    /// Answer to `ping`.
    Pong,
    /// A request the server refused.
    Error {
        /// What was wrong.
        message: String,
    },
    /// Where the connection's replay stands (see the crate docs).
    Replay(ReplayClock),
    /// Presenting: the wall the connection joined or watches, whenever it changes.
    Wall(Box<present::WallState>),
    /// Presenting: a momentary cue for a wall's pages.
    Cue {
        /// What.
        cue: present::Cue,
        /// The control's number.
        #[serde(default)]
        n: u64,
    },
}

impl ServerMsg {
    /// Read a message from its JSON text: as `serde_json::from_str` does, with each payload read
    /// once. (Serde reads an internally tagged enum by buffering the whole message first, and
    /// then builds each `data` again from the buffer: a 200 KB snapshot batch was read three
    /// times and copied once more by its reader.) Two differences: a key given twice in one
    /// object counts once, its last value (serde refuses it), and an error found after the text
    /// is read (a missing field, a wrong type) does not name its line and column.
    ///
    /// ```
    /// use yiping_protocol::ServerMsg;
    /// let text = r#"{"type":"snapshot","topic":"rivers","epoch":"e1","seq":3,"time":"2026-12-06T04:00:00Z","data":{"n":1}}"#;
    /// let m = ServerMsg::from_json(text).unwrap();
    /// assert_eq!(m, serde_json::from_str::<ServerMsg>(text).unwrap());
    /// ```
    pub fn from_json(text: &str) -> Result<ServerMsg, serde_json::Error> {
        ServerMsg::from_value(serde_json::from_str(text)?)
    }

    /// Read a message from a JSON value, moving the payloads out of it (see [`Self::from_json`]).
    pub fn from_value(value: serde_json::Value) -> Result<ServerMsg, serde_json::Error> {
        use serde::de::Error as _;
        use serde_json::Value;
        let Value::Object(mut map) = value else {
            return serde_json::from_value(value);
        };
        // Owned: the map is taken apart below.
        let kind = map.get("type").and_then(Value::as_str).map(str::to_owned);
        match kind.as_deref() {
            Some(kind @ ("snapshot" | "delta")) => {
                let data = map.remove("data").ok_or_else(|| serde_json::Error::missing_field("data"))?;
                map.remove("type");
                // The rest (topic, epoch, seq, time) is small: read as usual.
                map.insert("data".to_owned(), Value::Null);
                let mut u: Update = serde_json::from_value(Value::Object(map))?;
                u.data = data;
                Ok(if kind == "snapshot" { ServerMsg::Snapshot(u) } else { ServerMsg::Delta(u) })
            }
            Some("batch") => match map.remove("items") {
                Some(Value::Array(items)) => Ok(ServerMsg::Batch {
                    items: items.into_iter().map(ServerMsg::from_value).collect::<Result<_, _>>()?,
                }),
                Some(_) => Err(serde_json::Error::custom("a batch's `items` must be an array")),
                None => Err(serde_json::Error::missing_field("items")),
            },
            _ => serde_json::from_value(Value::Object(map)),
        }
    }
}

/// A topic the server offers, as listed by `GET /api/v1/topics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// One line on what it carries.
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_messages_have_the_documented_shape() {
        let m: ClientMsg = serde_json::from_value(json!({
            "op": "subscribe", "topics": ["overview"], "since": {"overview": {"epoch": "e1", "seq": 7}}
        }))
        .expect("documented subscribe parses");
        let ClientMsg::Subscribe { topics, since } = &m else { panic!("not subscribe: {m:?}") };
        assert_eq!(topics, &["overview"]);
        assert_eq!(since["overview"], ResumePoint { epoch: "e1".into(), seq: 7 });
        let plain: ClientMsg =
            serde_json::from_str(r#"{"op":"subscribe","topics":["a","b"]}"#).expect("since is optional");
        assert!(matches!(plain, ClientMsg::Subscribe { since, .. } if since.is_empty()));
        assert_eq!(serde_json::to_value(ClientMsg::Ping).expect("serialises"), json!({"op": "ping"}));
        assert!(serde_json::from_str::<ClientMsg>(r#"{"op":"shout"}"#).is_err());
        let r: ClientMsg =
            serde_json::from_str(r#"{"op":"replay","at":"2026-11-20T09:00:00+08:00","speed":60}"#)
                .expect("replay parses");
        assert_eq!(r, ClientMsg::Replay { at: "2026-11-20T09:00:00+08:00".into(), speed: 60.0 });
        assert_eq!(serde_json::to_value(ClientMsg::Live).expect("serialises"), json!({"op": "live"}));
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let u = Update {
            topic: "overview".into(),
            epoch: "e1".into(),
            seq: 3,
            time: "2026-11-22T08:00:00Z".into(),
            data: json!({"x": 1}),
        };
        let batch = ServerMsg::Batch { items: vec![ServerMsg::Snapshot(u.clone()), ServerMsg::Delta(u)] };
        let v = serde_json::to_value(&batch).expect("serialises");
        assert_eq!(
            v,
            json!({"type": "batch", "items": [
                {"type": "snapshot", "topic": "overview", "epoch": "e1", "seq": 3, "time": "2026-11-22T08:00:00Z", "data": {"x": 1}},
                {"type": "delta", "topic": "overview", "epoch": "e1", "seq": 3, "time": "2026-11-22T08:00:00Z", "data": {"x": 1}}
            ]})
        );
        let back: ServerMsg = serde_json::from_value(v).expect("round-trips");
        assert_eq!(back, batch);
        assert_eq!(serde_json::to_value(ServerMsg::Pong).expect("serialises"), json!({"type": "pong"}));
        let clock = ServerMsg::Replay(ReplayClock {
            epoch: "r1".into(),
            at: "2026-11-20T01:00:00Z".into(),
            speed: 0.0,
        });
        assert_eq!(
            serde_json::to_value(&clock).expect("serialises"),
            json!({"type": "replay", "epoch": "r1", "at": "2026-11-20T01:00:00Z", "speed": 0.0})
        );
    }

    #[test]
    fn server_messages_read_by_from_json_equal_serdes_reading() {
        let texts = [
            r#"{"type":"snapshot","topic":"alerts","epoch":"e1","seq":1,"time":"2026-12-06T01:00:00Z","data":{"alerts":[{"id":"A1"}]}}"#,
            r#"{"type":"delta","topic":"rivers","epoch":"e1","seq":2,"time":"2026-12-06T09:00:00.25+08:00","data":[1,2.5,"x",null,true],"extra":0}"#,
            r#"{"type":"batch","items":[{"type":"snapshot","topic":"a","epoch":"e","seq":1,"time":"t","data":{}},{"type":"batch","items":[{"type":"pong"}]}]}"#,
            r#"{"type":"batch","items":[]}"#,
            r#"{"type":"pong"}"#,
            r#"{"type":"error","message":"no such topic"}"#,
            r#"{"type":"replay","epoch":"r1","at":"2026-11-20T01:00:00Z","speed":60.0}"#,
            r#"{"type":"cue","cue":{"cue":"pointer","x":0.5,"y":0.25},"n":4}"#,
        ];
        for text in texts {
            let by_serde: ServerMsg = serde_json::from_str(text).expect("serde reads it");
            assert_eq!(ServerMsg::from_json(text).expect("from_json reads it"), by_serde, "{text}");
        }
    }

    #[test]
    fn from_json_refuses_what_serde_refuses_and_says_what() {
        let refused = [
            (r#"{"type":"snapshot","topic":"a","epoch":"e","seq":1,"time":"t"}"#, "missing field `data`"),
            (r#"{"type":"delta","topic":"a","epoch":"e","time":"t","data":1}"#, "missing field `seq`"),
            (r#"{"type":"delta","topic":"a","epoch":"e","seq":"one","time":"t","data":1}"#, "invalid type"),
            (r#"{"type":"batch"}"#, "missing field `items`"),
            (r#"{"type":"batch","items":{}}"#, "must be an array"),
            (r#"{"type":"batch","items":[{"type":"nonsense"}]}"#, "unknown variant `nonsense`"),
            (r#"{"topic":"a"}"#, "missing field `type`"),
            (r#"[1]"#, "invalid type"),
            (r#"{"type":"pong""#, "EOF"),
        ];
        for (text, says) in refused {
            assert!(serde_json::from_str::<ServerMsg>(text).is_err(), "serde refuses {text}");
            let e = ServerMsg::from_json(text).expect_err(text).to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
