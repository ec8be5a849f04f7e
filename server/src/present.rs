//! Presenting: the walls a console can drive (see [`yiping_protocol::present`]).
//!
//! [`Walls`] keeps, for every wall named by a page (`?wall=hall-1`), its [`WallState`]: the view,
//! its version, the controller, blank, highlight and carousel. Every change goes to the wall's
//! pages and consoles over one broadcast channel per wall; each connection then says whether the
//! state is `yours`. The rules, in one place ([`Walls::act`]):
//! - anyone who may read may watch a wall and be one of its pages; only a wall's page makes a
//!   wall (at most [`MAX_WALLS`]);
//! - control is for presenters and admins without a region scope, one user at a time; taking it
//!   from another is explicit (`force`), and the other is told;
//! - a wall page's touch changes the view for everyone when the page is the wall's own browser
//!   ([`Actor::trusted_wall`]); a miniature's touch only while its user controls the wall; a
//!   report made against an older version is ignored (the page is sent the current state);
//! - control stays with its holder when the console disconnects, and the wall keeps its view.
//!
//! The state lives in memory: a restart starts every wall afresh from its pages' views.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use yiping_protocol::api::Role;
use yiping_protocol::present::{Cue, Part, Setting, View, WallInfo, WallState};

use crate::sync::OrPoisoned;

/// The most walls a server keeps (names are chosen by pages, so they are bounded).
pub const MAX_WALLS: usize = 256;

/// What goes to a wall's connections.
#[derive(Debug, Clone)]
pub enum Relay {
    /// The wall's state changed.
    State(Box<WallState>),
    /// A momentary cue for its pages.
    Cue {
        /// What.
        cue: Cue,
        /// The control's number.
        n: u64,
    },
}

#[derive(Debug)]
struct Wall {
    state: WallState,
    tx: broadcast::Sender<Arc<Relay>>,
}

impl Wall {
    /// Make `next` the wall's state (one seq on) and tell its connections.
    fn commit(&mut self, mut next: WallState) {
        next.seq += 1;
        self.state = next;
        let _ = self.tx.send(Arc::new(Relay::State(Box::new(self.state.clone()))));
    }
}

/// Every wall the server has heard of.
#[derive(Debug, Default)]
pub struct Walls {
    walls: Mutex<HashMap<String, Wall>>,
}

/// Writes an act's audit entry (action, body) before it takes effect.
pub type Record<'a> = &'a mut dyn FnMut(&'static str, &serde_json::Value) -> Result<(), String>;

/// Who acts on a wall.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user's name (None: anonymous).
    pub name: Option<String>,
    /// The user's role.
    pub role: Option<Role>,
    /// The user has a region scope (presenting is province-wide: refused).
    pub scoped: bool,
    /// A touch on a wall page of this connection counts: the server's own machine (anonymous),
    /// or a presenter or admin logged in on the wall's browser.
    pub trusted_wall: bool,
}

impl Actor {
    /// Who `caller` is to a wall.
    pub fn of(caller: &crate::auth::Caller) -> Actor {
        let user = caller.user.as_ref();
        Actor {
            name: user.map(|u| u.name.clone()),
            role: user.map(|u| u.role),
            scoped: caller.scope().is_some(),
            // The wall's own browser: this machine, or a wall account that may control walls.
            trusted_wall: user.map_or(caller.addr.ip().is_loopback(), |u| {
                matches!(u.role, Role::Presenter | Role::Admin) && u.scope.is_none()
            }),
        }
    }

    /// May this actor control walls?
    fn may_control(&self) -> bool {
        matches!(self.role, Some(Role::Presenter | Role::Admin)) && !self.scoped
    }
}

/// A request about a wall from one connection.
#[derive(Debug)]
pub enum Act {
    /// Join as a page.
    Join {
        /// How.
        part: Part,
        /// What it shows.
        view: Option<View>,
        /// Its size.
        size: Option<[u32; 2]>,
        /// Its carousel.
        carousel: Option<bool>,
    },
    /// A page left.
    Leave {
        /// How it had joined.
        part: Part,
    },
    /// A page's view changed by a touch.
    Report {
        /// How it had joined.
        part: Part,
        /// What it shows.
        view: View,
        /// The version it changed from.
        base: u64,
        /// Made by the page itself (its carousel), not a touch.
        auto: bool,
    },
    /// Watch, and take control.
    Drive {
        /// Ask for control.
        take: bool,
        /// From whoever has it.
        force: bool,
    },
    /// Give control up.
    Release,
    /// Set the view.
    Show {
        /// The view.
        view: View,
        /// The control's number.
        n: u64,
    },
    /// Blank, highlight, carousel.
    Set {
        /// What.
        setting: Setting,
        /// The control's number.
        n: u64,
    },
    /// A momentary cue.
    Cue {
        /// What.
        cue: Cue,
        /// The control's number.
        n: u64,
    },
}

/// What an act did: the audit entry to write (action, body), if any.
#[derive(Debug, Default)]
pub struct Done {
    /// `present.show`, `present.take`, … (None: nothing to record, e.g. a pointer move).
    pub audit: Option<(&'static str, serde_json::Value)>,
    /// The state to send back to the acting connection alone (a stale report, a refused take).
    pub reply: Option<WallState>,
}

pub use yiping_protocol::present::check_wall_name as check_name;

impl Walls {
    /// The walls known, by name.
    pub fn list(&self) -> Vec<WallInfo> {
        let walls = self.walls.lock().or_poisoned();
        let mut v: Vec<WallInfo> = walls
            .values()
            // The server's own transient walls (exports) are not for consoles.
            .filter(|w| !w.state.wall.starts_with(crate::export::WALL_PREFIX))
            .map(|w| WallInfo {
                wall: w.state.wall.clone(),
                pages: w.state.pages,
                controller: w.state.controller.clone(),
                screen: w.state.view.screen.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.wall.cmp(&b.wall));
        v
    }

    /// Show `view` on `wall` (the server's own transient walls, e.g. an export's): no controller
    /// needed, nothing audited.
    pub fn put(&self, wall: &str, view: View) {
        let mut walls = self.walls.lock().or_poisoned();
        if let Some(w) = walls.get_mut(wall) {
            let mut next = w.state.clone();
            next.view = view;
            next.version += 1;
            w.commit(next);
        }
    }

    /// Forget `wall` (its connections see their channel close).
    pub fn forget(&self, wall: &str) {
        self.walls.lock().or_poisoned().remove(wall);
    }

    /// The wall's state now.
    pub fn state(&self, wall: &str) -> Option<WallState> {
        self.walls.lock().or_poisoned().get(wall).map(|w| w.state.clone())
    }

    /// A receiver of the wall's changes, and its state now (the wall is made when new, from
    /// `view`; without a view, only a wall that exists). At most [`MAX_WALLS`] are kept: a new
    /// one first makes room by forgetting walls nobody is connected to and nobody controls, and
    /// is refused when there is none.
    pub fn attach(
        &self,
        wall: &str,
        view: Option<&View>,
    ) -> Result<(broadcast::Receiver<Arc<Relay>>, WallState), String> {
        let mut walls = self.walls.lock().or_poisoned();
        if view.is_none() && !walls.contains_key(wall) {
            // Only a wall's page makes a wall: a console cannot fill the server with names.
            return Err(format!("wall {wall:?} is not open: open it on the wall (/?wall={wall}) first"));
        }
        if !walls.contains_key(wall) && walls.len() >= MAX_WALLS {
            walls.retain(|_, w| w.tx.receiver_count() > 0 || w.state.controller.is_some());
            if walls.len() >= MAX_WALLS {
                return Err(format!("wall {wall:?}: this server already has {MAX_WALLS} walls in use"));
            }
        }
        let w = walls.entry(wall.to_owned()).or_insert_with(|| Wall {
            state: WallState {
                wall: wall.to_owned(),
                view: view.cloned().unwrap_or_default(),
                version: 1,
                seq: 1,
                controller: None,
                yours: false,
                pages: 0,
                size: None,
                blank: false,
                highlight: None,
                carousel: None,
                n: 0,
                note: None,
            },
            tx: broadcast::channel(256).0,
        });
        Ok((w.tx.subscribe(), w.state.clone()))
    }

    /// Apply `act` of `who` to `wall` (attached first): `record` writes its audit entry (the
    /// action and what it did) first, then every connection of the wall is told what changed,
    /// so the trail is in the order of the changes and holds every one that took effect. The
    /// refusal says why (a failed `record` included: then nothing changed).
    pub fn act(&self, wall: &str, who: &Actor, act: Act, record: Record<'_>) -> Result<Done, String> {
        let mut walls = self.walls.lock().or_poisoned();
        let Some(w) = walls.get_mut(wall) else {
            return Err(format!("wall {wall:?} is not known; join or drive it first"));
        };
        let mut next = w.state.clone();
        let mut cue_out = None;
        let s = &mut next;
        let controls = who.name.is_some() && s.controller == who.name;
        let control = |what: &str| -> Result<(), String> {
            if controls {
                Ok(())
            } else {
                Err(match &s.controller {
                    Some(c) => format!("{what}: wall {wall:?} is controlled by {c}; take over first"),
                    None => format!("{what}: take control of wall {wall:?} first"),
                })
            }
        };
        let mut done = Done::default();
        let mut changed = true;
        match act {
            Act::Join { part, view: _, size, carousel } => {
                if part == Part::Wall {
                    s.pages += 1;
                    // Only the wall's own browser says how large it is and that it has a carousel
                    // (whether that is held is the presenter's to say).
                    if who.trusted_wall {
                        s.size = size
                            .filter(|[w, h]| (320..=16_384).contains(w) && (240..=16_384).contains(h))
                            .or(s.size);
                        if s.carousel.is_none() {
                            s.carousel = carousel;
                        }
                    }
                }
                done.audit = (part == Part::Wall).then(|| {
                    ("present.join", serde_json::json!({ "size": size, "trusted": who.trusted_wall }))
                });
            }
            Act::Leave { part } => {
                if part == Part::Wall {
                    s.pages = s.pages.saturating_sub(1);
                    done.audit = Some(("present.leave", serde_json::Value::Null));
                } else {
                    changed = false;
                }
            }
            Act::Report { part, view, base, auto } => {
                view.check()?;
                if part == Part::Remote && !controls {
                    return Err(control("a touch on the miniature").expect_err("not in control"));
                }
                if part == Part::Wall && !who.trusted_wall {
                    return Err(format!(
                        "a touch on this page of wall {wall:?} does not drive it: a wall's browser is this server's machine, or logged in as a presenter or admin"
                    ));
                }
                if base != s.version {
                    // Made against a view that has changed since: the page catches up instead.
                    done.reply = Some(s.clone());
                    return Ok(done);
                }
                if view == s.view {
                    changed = false;
                } else {
                    // The carousel moving on is not a person's act: kept, not audited.
                    done.audit = (!auto).then_some(match part {
                        Part::Wall => ("present.touch", serde_json::json!({ "view": view })),
                        Part::Remote => {
                            ("present.show", serde_json::json!({ "view": view, "from": "miniature" }))
                        }
                    });
                    s.view = view;
                    s.version += 1;
                    s.n = 0;
                }
            }
            Act::Drive { take, force } => {
                if !take {
                    return Ok(Done { audit: None, reply: Some(s.clone()) });
                }
                if !who.may_control() {
                    return Err(if who.scoped {
                        "controlling a wall is province-wide: your user has a region scope".to_owned()
                    } else {
                        format!(
                            "controlling a wall needs the role presenter or admin; you are {}",
                            who.role.map_or("not logged in", Role::as_str)
                        )
                    });
                }
                match &s.controller {
                    _ if controls => changed = false,
                    Some(other) if !force => {
                        return Err(format!(
                            "wall {wall:?} is controlled by {other}; take over explicitly to drive it"
                        ));
                    }
                    Some(other) => {
                        done.audit = Some(("present.takeover", serde_json::json!({ "from": other })));
                        s.note = Some(format!("taken over by {}", who.name.as_deref().unwrap_or("?")));
                    }
                    None => {
                        done.audit = Some(("present.take", serde_json::Value::Null));
                        s.note = None;
                    }
                }
                s.controller.clone_from(&who.name);
                // A driven wall holds its carousel until the presenter runs it.
                if s.carousel == Some(true) {
                    s.carousel = Some(false);
                }
            }
            Act::Release => {
                if !controls {
                    return Ok(Done::default());
                }
                s.controller = None;
                s.note = None;
                done.audit = Some(("present.release", serde_json::Value::Null));
            }
            Act::Show { view, n } => {
                control("show")?;
                view.check()?;
                done.audit = Some(("present.show", serde_json::json!({ "view": view })));
                s.view = view;
                s.version += 1;
                s.n = n;
            }
            Act::Set { setting, n } => {
                control("set")?;
                match &setting {
                    Setting::Blank { on } => s.blank = *on,
                    Setting::Highlight { panel } => s.highlight = *panel,
                    Setting::Carousel { run } => s.carousel = Some(*run),
                }
                done.audit = Some(("present.set", serde_json::to_value(&setting).unwrap_or_default()));
                s.n = n;
            }
            Act::Cue { cue, n } => {
                control("cue")?;
                cue.check()?;
                done.audit = match &cue {
                    Cue::Pointer { down: true, .. } => Some(("present.pointer", serde_json::Value::Null)),
                    _ => None,
                };
                cue_out = Some(Relay::Cue { cue, n });
                changed = false;
            }
        }
        if let Some((action, body)) = &done.audit {
            record(action, body)?;
        }
        // Nobody may be listening: a cue or change of a wall without pages goes nowhere.
        if let Some(c) = cue_out {
            let _ = w.tx.send(Arc::new(c));
        }
        if changed {
            w.commit(next);
        }
        Ok(done)
    }
}

/// The state as one connection sees it (`yours` when its user controls the wall).
pub fn for_connection(mut s: WallState, user: Option<&str>) -> WallState {
    s.yours = user.is_some() && s.controller.as_deref() == user;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(_: &'static str, _: &serde_json::Value) -> Result<(), String> {
        Ok(())
    }

    fn act_(walls: &Walls, wall: &str, who: &Actor, act: Act) -> Result<Done, String> {
        walls.act(wall, who, act, &mut keep)
    }

    fn who(name: &str, role: Role) -> Actor {
        Actor { name: Some(name.into()), role: Some(role), scoped: false, trusted_wall: true }
    }

    fn screen(s: &str) -> View {
        View { screen: s.into(), ..View::default() }
    }

    #[test]
    fn one_controller_hand_over_is_explicit_and_a_viewer_cannot_drive() {
        let walls = Walls::default();
        let (mut rx, s) = walls.attach("hall-1", Some(&screen("rivers"))).expect("room");
        assert_eq!(s.view.screen, "rivers");
        let (zhang, li, wang) =
            (who("zhang", Role::Presenter), who("li", Role::Admin), who("wang", Role::Viewer));
        let join = Act::Join { part: Part::Wall, view: None, size: Some([7680, 2160]), carousel: None };
        act_(&walls, "hall-1", &wang, join).expect("anyone may be the wall");
        let e = act_(&walls, "hall-1", &wang, Act::Drive { take: true, force: false }).expect_err("viewer");
        assert!(e.contains("presenter or admin; you are viewer"), "{e}");
        let e = act_(&walls, "hall-1", &zhang, Act::Show { view: screen("projects"), n: 1 })
            .expect_err("not yet");
        assert!(e.contains("take control"), "{e}");
        let d = act_(&walls, "hall-1", &zhang, Act::Drive { take: true, force: false }).expect("free");
        assert_eq!(d.audit.map(|a| a.0), Some("present.take"));
        let e = act_(&walls, "hall-1", &li, Act::Drive { take: true, force: false }).expect_err("held");
        assert!(e.contains("controlled by zhang"), "{e}");
        act_(&walls, "hall-1", &zhang, Act::Show { view: screen("projects"), n: 7 }).expect("controller");
        let d = act_(&walls, "hall-1", &li, Act::Drive { take: true, force: true }).expect("take over");
        assert_eq!(d.audit.map(|a| a.0), Some("present.takeover"));
        let e = act_(&walls, "hall-1", &zhang, Act::Show { view: screen("overview"), n: 8 })
            .expect_err("lost it");
        assert!(e.contains("controlled by li"), "{e}");
        let mut last = None;
        while let Ok(r) = rx.try_recv() {
            if let Relay::State(s) = &*r {
                last = Some((**s).clone());
            }
        }
        let last = last.expect("states were sent");
        assert_eq!(
            (last.view.screen.as_str(), last.controller.as_deref(), last.pages),
            ("projects", Some("li"), 1)
        );
        assert_eq!(last.note.as_deref(), Some("taken over by li"));
        assert!(for_connection(last.clone(), Some("li")).yours);
        assert!(!for_connection(last, Some("zhang")).yours);
        // The one who lost control is still told while the wall goes on; a release ends it.
        act_(&walls, "hall-1", &li, Act::Show { view: screen("poverty"), n: 9 }).expect("li drives");
        let note = |w: &Walls| w.state("hall-1").expect("kept").note;
        assert_eq!(note(&walls).as_deref(), Some("taken over by li"));
        act_(&walls, "hall-1", &li, Act::Release).expect("released");
        assert_eq!(note(&walls), None);
    }

    #[test]
    fn touches_on_the_wall_count_stale_ones_do_not_and_a_miniature_needs_control() {
        let walls = Walls::default();
        let _kept = walls.attach("w", Some(&View::default())).expect("room");
        let anon = Actor { name: None, role: None, scoped: false, trusted_wall: true };
        let v1 = walls.state("w").expect("made").version;
        let d = act_(
            &walls,
            "w",
            &anon,
            Act::Report { part: Part::Wall, view: screen("poverty"), base: v1, auto: false },
        )
        .expect("the wall's own touch");
        assert_eq!(d.audit.map(|a| a.0), Some("present.touch"));
        let d = act_(
            &walls,
            "w",
            &anon,
            Act::Report { part: Part::Wall, view: screen("rivers"), base: v1, auto: false },
        )
        .expect("stale, not refused");
        assert_eq!(d.reply.map(|s| s.view.screen), Some("poverty".into()));
        assert_eq!(walls.state("w").map(|s| s.view.screen), Some("poverty".into()));
        let wang = who("wang", Role::Viewer);
        let v2 = v1 + 1;
        let e = act_(
            &walls,
            "w",
            &wang,
            Act::Report { part: Part::Remote, view: screen("rivers"), base: v2, auto: false },
        )
        .expect_err("read-only");
        assert!(e.contains("take control"), "{e}");
        let e = act_(&walls, "w", &anon, Act::Cue { cue: Cue::Pointer { x: 0.5, y: 0.5, down: true }, n: 1 });
        assert!(e.is_err());
        assert!(check_name("hall 1").is_err() && check_name("hall-1").is_ok());
        // A page that is not the wall's own browser follows, but its touches do not count.
        let stranger =
            Actor { name: Some("wang".into()), role: Some(Role::Viewer), scoped: false, trusted_wall: false };
        let v = walls.state("w").expect("made").version;
        let e = act_(
            &walls,
            "w",
            &stranger,
            Act::Report { part: Part::Wall, view: screen("rivers"), base: v, auto: false },
        )
        .expect_err("not the wall's browser");
        assert!(e.contains("does not drive it"), "{e}");
        let scoped =
            Actor { name: Some("hs".into()), role: Some(Role::Presenter), scoped: true, trusted_wall: true };
        let e = act_(&walls, "w", &scoped, Act::Drive { take: true, force: false }).expect_err("scoped");
        assert!(e.contains("province-wide"), "{e}");
    }

    #[test]
    fn walls_are_bounded_and_unused_ones_make_room() {
        let walls = Walls::default();
        let v = View::default();
        let kept: Vec<_> =
            (0..MAX_WALLS).map(|i| walls.attach(&format!("w{i}"), Some(&v)).expect("room")).collect();
        let e = walls.attach("one-more", Some(&v)).expect_err("full");
        assert!(e.contains("256 walls"), "{e}");
        drop(kept);
        walls.attach("one-more", Some(&v)).expect("the unused ones were forgotten");
        assert!(walls.attach("nobody-opened", None).is_err(), "a console does not make walls");
        assert_eq!(walls.list().len(), 1);
    }
}
