//! Presenting: a console drives a named wall, bookmarks and storylines (DESIGN §5, "present").
//!
//! - A wall page opened with `?wall=hall-1` joins the wall `hall-1` over its websocket
//!   ([`crate::ClientMsg::Join`]); so does the console's live miniature (`remote`).
//! - A console watches a wall and, for a presenter or an admin, takes control of it
//!   ([`crate::ClientMsg::Drive`]): one controller per wall; another presenter takes over only
//!   explicitly (`force`), and the one who had it is told.
//! - The server keeps each wall's [`WallState`] (its [`View`], controller, blank, highlight) and
//!   sends it to every page and console of the wall whenever it changes. A wall page applies the
//!   view; a touch on the wall itself changes the view and is reported back, so the console
//!   follows the wall too. [`Cue`]s are momentary (the pointer): relayed, not kept.
//! - A [`Storyline`] is an ordered list of [`Step`]s (a titled [`View`] with the presenter's
//!   note), kept on the server and carried between deployments as a TOML or JSON file.

use serde::{Deserialize, Serialize};

use crate::MAX_REPLAY_SPEED;

/// The screens a view can show (the wall's addresses without the slash; `overview` is `/`).
pub const SCREENS: [&str; 5] = ["overview", "yangtze", "rivers", "projects", "poverty"];

/// How many indicators the overview's map can be coloured by.
pub const INDICATORS: u8 = 5;

/// What a wall shows: the screen, the region and map, the drawer open, the language, and live or
/// a past instant. A bookmark stores one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct View {
    /// One of [`SCREENS`].
    pub screen: String,
    /// The prefecture or county drilled into (None: the province).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A map box moved to by hand (the map's projected coordinates, x0, y0, x1, y1); None: the
    /// map frames the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_box: Option<[f64; 4]>,
    /// The overview map's indicator (0 patrols, 1 open problems, 2 at-risk households,
    /// 3 projects, 4 patrol coverage).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 4))]
    pub indicator: u8,
    /// The drawer open over the map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawer: Option<Drawer>,
    /// `zh` or `en`.
    #[serde(default = "zh")]
    pub lang: String,
    /// A past instant shown (RFC 3339; None: live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// With `at`: replayed seconds per real second (0: still).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub speed: f64,
}

fn zh() -> String {
    "zh".into()
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for View {
    fn default() -> View {
        View {
            screen: "overview".into(),
            region: None,
            map_box: None,
            indicator: 0,
            drawer: None,
            lang: zh(),
            at: None,
            speed: 0.0,
        }
    }
}

/// A drawer open over the map and what it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Drawer {
    /// One of [`Drawer::KINDS`].
    pub kind: String,
    /// What it is open on: an entity key, an alert id, a water class, a project stage, an age
    /// bucket (`0`–`3`); empty for `periods`.
    #[serde(default)]
    pub key: String,
}

impl Drawer {
    /// The drawers: an entity's records, an alert, 周期对比, the sections of a water class, the
    /// projects of a stage (`stage-overdue`: only its overdue ones), open problems by age.
    pub const KINDS: [&'static str; 7] =
        ["entity", "alert", "periods", "class", "stage", "stage-overdue", "ageing"];
}

impl View {
    /// Check every field; the refusal names the field and the value.
    pub fn check(&self) -> Result<(), String> {
        if !SCREENS.contains(&self.screen.as_str()) {
            return Err(format!("screen {:?}: use one of {}", self.screen, SCREENS.join(", ")));
        }
        if let Some(r) = &self.region
            && !(r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("region {r:?}: an adcode is six digits"));
        }
        if let Some(b) = &self.map_box
            && (b.iter().any(|v| !v.is_finite()) || b[2] <= b[0] || b[3] <= b[1])
        {
            return Err(format!("map_box {b:?}: four finite numbers x0 < x1, y0 < y1"));
        }
        if self.indicator >= INDICATORS {
            return Err(format!("indicator {}: 0 to {}", self.indicator, INDICATORS - 1));
        }
        if let Some(d) = &self.drawer {
            if !Drawer::KINDS.contains(&d.kind.as_str()) {
                return Err(format!("drawer.kind {:?}: use one of {}", d.kind, Drawer::KINDS.join(", ")));
            }
            if d.key.len() > 200 {
                return Err(format!("drawer.key: {} bytes, at most 200", d.key.len()));
            }
        }
        if self.lang != "zh" && self.lang != "en" {
            return Err(format!("lang {:?}: zh or en", self.lang));
        }
        if let Some(at) = &self.at
            && crate::instant::Timestamp::parse(at).is_err()
        {
            return Err(format!("at {at:?}: an RFC 3339 time with its offset"));
        }
        if !(0.0..=MAX_REPLAY_SPEED).contains(&self.speed) {
            return Err(format!("speed {}: 0 to {MAX_REPLAY_SPEED}", self.speed));
        }
        Ok(())
    }
}

/// A wall's name: letters, digits, `-` and `_`, 1 to 40 of them.
///
/// Names starting `export-` are the server's own (exports) and are refused here.
pub fn check_wall_name(name: &str) -> Result<(), String> {
    if name.starts_with("export-") {
        return Err(format!("wall {name:?}: names starting \"export-\" are the server's own"));
    }
    if name.is_empty()
        || name.len() > 40
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("wall {name:?}: a name of 1 to 40 letters, digits, '-' or '_'"));
    }
    Ok(())
}

/// How a page takes part in a wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The wall itself: it shows the view, and a touch on it changes the view for everyone.
    Wall,
    /// A console's live miniature: it shows the view; a touch on it drives the wall only while
    /// its user controls the wall.
    Remote,
}

/// A momentary signal to a wall's pages, relayed as it comes and not kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "cue", rename_all = "lowercase", deny_unknown_fields)]
pub enum Cue {
    /// The presenter's finger, as fractions of the wall's width and height (0–1); `down` when
    /// it has just touched.
    Pointer {
        /// 0 left to 1 right.
        x: f64,
        /// 0 top to 1 bottom.
        y: f64,
        /// The first point of a touch.
        #[serde(default)]
        down: bool,
    },
    /// The finger left the miniature.
    Lift,
}

impl Cue {
    /// Check the values.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Cue::Pointer { x, y, .. } if !(0.0..=1.0).contains(x) || !(0.0..=1.0).contains(y) => {
                Err(format!("pointer ({x}, {y}): fractions from 0 to 1"))
            }
            _ => Ok(()),
        }
    }
}

/// What a controller sets besides the view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "set", rename_all = "lowercase", deny_unknown_fields)]
pub enum Setting {
    /// Blank the wall (black, as presentation software does with B) or show it again.
    Blank {
        /// Blanked.
        on: bool,
    },
    /// Mark one panel of the screen (its place among the wall's panels, in reading order), or
    /// none.
    Highlight {
        /// The panel's index.
        panel: Option<u32>,
    },
    /// Run or hold the wall's carousel.
    Carousel {
        /// Running.
        run: bool,
    },
}

/// A wall as the server keeps it, sent to its pages and consoles whenever it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WallState {
    /// The wall's name (`?wall=`).
    pub wall: String,
    /// What it shows.
    pub view: View,
    /// Changes with every change of the view (a page reports against the version it showed).
    pub version: u64,
    /// Grows with every change of the state: a client drops a state older than one it has.
    #[serde(default)]
    pub seq: u64,
    /// Who controls it (None: nobody).
    #[serde(default)]
    pub controller: Option<String>,
    /// Whether the connection receiving this controls the wall.
    #[serde(default)]
    pub yours: bool,
    /// Wall pages connected now (the miniatures not counted).
    pub pages: u32,
    /// The wall's size in CSS pixels, as its page last said.
    #[serde(default)]
    pub size: Option<[u32; 2]>,
    /// Blanked.
    #[serde(default)]
    pub blank: bool,
    /// The panel marked.
    #[serde(default)]
    pub highlight: Option<u32>,
    /// Whether its carousel runs (None: it has none).
    #[serde(default)]
    pub carousel: Option<bool>,
    /// The number of the control that made this state (0: none, or a touch on the wall or its
    /// miniature): a console knows its control answered by it, and the latency benchmark times it.
    #[serde(default)]
    pub n: u64,
    /// What happened to control, for the consoles: `taken over by 李四` from a take-over until
    /// control changes hands again (so the presenter who lost it is told, whatever the wall
    /// does meanwhile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A step of a storyline: a titled view and what the presenter says there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Shown on the console's list and in an export.
    pub title: String,
    /// The presenter's note (the console only).
    #[serde(default)]
    pub note: String,
    /// The view.
    pub view: View,
}

/// An ordered list of bookmarked views for a meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Storyline {
    /// Assigned by the server (ignored on import).
    #[serde(default)]
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its steps, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Who changed it last, and when (set by the server).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub changed_by: String,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub changed: String,
}

/// The most steps a storyline holds.
pub const MAX_STEPS: usize = 200;

impl Storyline {
    /// Check the name and every step; the refusal names the step, the field and the value.
    pub fn check(&self) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(format!("name {:?}: 1 to 80 characters", self.name));
        }
        if self.steps.len() > MAX_STEPS {
            return Err(format!("steps: {}, at most {MAX_STEPS}", self.steps.len()));
        }
        for (i, s) in self.steps.iter().enumerate() {
            let n = i + 1;
            if s.title.trim().is_empty() || s.title.chars().count() > 80 {
                return Err(format!("step {n}: title {:?}: 1 to 80 characters", s.title));
            }
            if s.note.chars().count() > 2000 {
                return Err(format!("step {n}: note: {} characters, at most 2000", s.note.chars().count()));
            }
            s.view.check().map_err(|e| format!("step {n}: view.{e}"))?;
        }
        Ok(())
    }
}

/// A wall the server knows (`GET /api/v1/walls`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WallInfo {
    /// Its name.
    pub wall: String,
    /// Wall pages connected now.
    pub pages: u32,
    /// Who controls it.
    pub controller: Option<String>,
    /// The screen it shows.
    pub screen: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_view_round_trips_and_defaults() {
        let v: View = serde_json::from_value(json!({"screen": "rivers"})).expect("minimal view");
        assert_eq!(v, View { screen: "rivers".into(), ..View::default() });
        assert_eq!(
            serde_json::to_value(&v).expect("serialises"),
            json!({"screen": "rivers", "indicator": 0, "lang": "zh"})
        );
        let full = View {
            screen: "projects".into(),
            region: Some("420200".into()),
            map_box: Some([1.0, 2.0, 3.0, 4.0]),
            indicator: 2,
            drawer: Some(Drawer { kind: "entity".into(), key: "project:P1".into() }),
            lang: "en".into(),
            at: Some("2026-11-20T09:00:00+08:00".into()),
            speed: 60.0,
        };
        full.check().expect("valid");
        let back: View = serde_json::from_str(&serde_json::to_string(&full).expect("ser")).expect("de");
        assert_eq!(back, full);
    }

    #[test]
    fn refusals_name_the_field_and_value() {
        let bad = |f: fn(&mut View)| {
            let mut v = View::default();
            f(&mut v);
            v.check().expect_err("refused")
        };
        assert!(bad(|v| v.screen = "nope".into()).starts_with("screen \"nope\""));
        assert!(bad(|v| v.region = Some("4202".into())).starts_with("region \"4202\""));
        assert!(bad(|v| v.map_box = Some([3.0, 0.0, 1.0, 1.0])).starts_with("map_box"));
        assert!(bad(|v| v.indicator = 9).starts_with("indicator 9"));
        assert!(
            bad(|v| v.drawer = Some(Drawer { kind: "x".into(), key: String::new() }))
                .starts_with("drawer.kind \"x\"")
        );
        assert!(bad(|v| v.lang = "fr".into()).starts_with("lang \"fr\""));
        assert!(bad(|v| v.at = Some("2026-11-20 09:00".into())).starts_with("at \"2026-11-20 09:00\""));
        assert!(bad(|v| v.speed = 1e9).starts_with("speed"));
        assert!(serde_json::from_value::<View>(json!({"screen": "rivers", "colour": 1})).is_err());
        let s = Storyline {
            id: 0,
            name: "会商".into(),
            steps: vec![Step {
                title: "长江".into(),
                note: String::new(),
                view: View { screen: "x".into(), ..View::default() },
            }],
            changed_by: String::new(),
            changed: String::new(),
        };
        assert_eq!(
            s.check().expect_err("refused"),
            "step 1: view.screen \"x\": use one of overview, yangtze, rivers, projects, poverty"
        );
    }

    #[test]
    fn cues_and_settings_have_their_wire_forms() {
        let c: Cue = serde_json::from_value(json!({"cue": "pointer", "x": 0.5, "y": 0.25})).expect("pointer");
        assert_eq!(c, Cue::Pointer { x: 0.5, y: 0.25, down: false });
        assert!(Cue::Pointer { x: 1.5, y: 0.0, down: false }.check().is_err());
        let s: Setting = serde_json::from_value(json!({"set": "highlight", "panel": 3})).expect("highlight");
        assert_eq!(s, Setting::Highlight { panel: Some(3) });
        assert_eq!(
            serde_json::to_value(Setting::Blank { on: true }).expect("ser"),
            json!({"set": "blank", "on": true})
        );
    }
}
