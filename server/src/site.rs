//! Site configuration: what a deployment sets for `yiping serve`, from three places in rising
//! order of precedence, each value remembering where it came from:
//!
//! 1. the file `yiping.toml` (`--config FILE`, or `YIPING_CONFIG`, or `./yiping.toml` when
//!    present): one `key = value` line per setting;
//! 2. an environment variable per key, `YIPING_` and the key in capitals
//!    (`session_hours` ↔ `YIPING_SESSION_HOURS`), as container platforms set them;
//! 3. the flags of `yiping serve` (`--session-hours 8`).
//!
//! The monitoring sections are tables in the file only (`[[sections]]`, one per section: `id`,
//! `name`, `river`, `body` = `"river"` or `"lake"`, `lon`, `lat`, and optionally `target`, the
//! class the plan in force sets, `"I"` … `"V"`); without them the built-in sections under the root
//! region are used.
//!
//! What none of them sets keeps its default. `yiping config` prints the effective configuration
//! as a valid `yiping.toml`, each line commented with its origin. An unknown key in the file, a
//! value of the wrong kind or out of range anywhere is refused at start, naming the file and line
//! (or the variable), the key, the value and the reason; nothing starts on a bad configuration.
//!
//! ```
//! use yiping_server::site::{Layers, Origin, resolve};
//! let file = ("yiping.toml".into(), "speed = 120\nseed = 7\n".to_string());
//! let env = |k: &str| (k == "YIPING_SEED").then(|| "8".to_string());
//! let site = resolve(&Layers { file: Some(file), env: &env, flags: vec![] }).expect("valid");
//! assert_eq!(site.speed.value, 120.0);
//! assert_eq!(site.seed.value, 8);
//! assert_eq!(site.seed.origin, Origin::Env("YIPING_SEED".into()));
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use yiping_protocol::instant::Timestamp;

use yiping_protocol::water::{WaterBody, WaterClass};

use crate::auth::Anonymous;
use crate::stations::SectionSpec;

/// The file read when `--config` is not given and it exists in the working folder.
pub const FILE: &str = "yiping.toml";

/// The environment variable that names the configuration file.
pub const CONFIG_ENV: &str = "YIPING_CONFIG";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nothing set it.
    Default,
    /// The configuration file, at a line (1-based).
    File {
        /// The file as named.
        path: PathBuf,
        /// The line of the key.
        line: usize,
    },
    /// An environment variable.
    Env(String),
    /// A flag on the command line.
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "{} line {line}", path.display()),
            Origin::Env(var) => write!(f, "environment {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Set<T> {
    /// The value in force.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

/// One key of the configuration: its name in the file, its flag, its default (None: unset) and
/// what it means (printed by `yiping config`).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key in `yiping.toml`.
    pub name: &'static str,
    /// The flag of `yiping serve`.
    pub flag: &'static str,
    /// The default, as it would be written in the file (None: unset).
    pub default: Option<&'static str>,
    /// What it sets.
    pub help: &'static str,
}

impl Key {
    /// The environment variable for this key: `YIPING_` and the key in capitals.
    pub fn env(&self) -> String {
        format!("YIPING_{}", self.name.to_ascii_uppercase())
    }
}

/// Every key, in the order `yiping config` prints them.
pub const KEYS: [Key; 19] = [
    Key {
        name: "root_region",
        flag: "--root-region",
        default: Some("420000"),
        help: "the region the deployment covers: 420000 for the province, or a prefecture-level adcode (420200 for 黄石)",
    },
    Key {
        name: "boundaries",
        flag: "--boundaries",
        default: None,
        help: "a folder with the deployment's official boundary files province.geojson, prefectures.geojson and counties.geojson (adcode, name, parent_adcode; checked at start); unset: the shipped layers",
    },
    Key {
        name: "title",
        flag: "--title",
        default: None,
        help: "the wall's title (unset: the root region's name and 一屏全览)",
    },
    Key { name: "addr", flag: "--addr", default: Some("127.0.0.1:8080"), help: "address to listen on" },
    Key { name: "data", flag: "--data", default: Some("./data"), help: "folder for the server's files" },
    Key {
        name: "anonymous",
        flag: "--anonymous",
        default: Some("local"),
        help: "who may look at the wall without logging in: off, local or all",
    },
    Key { name: "session_hours", flag: "--session-hours", default: Some("12"), help: "hours a login lasts" },
    Key {
        name: "secure_cookie",
        flag: "--secure-cookie",
        default: Some("false"),
        help: "mark the session cookie Secure (users reach the server over HTTPS)",
    },
    Key {
        name: "simulator",
        flag: "--no-simulator",
        default: Some("true"),
        help: "run the built-in simulator (its data are marked 模拟数据 on the wall)",
    },
    Key { name: "seed", flag: "--seed", default: Some("2026"), help: "the simulator's seed" },
    Key {
        name: "speed",
        flag: "--speed",
        default: Some("60"),
        help: "the simulator's activity multiplier (60: an hour's activity a minute)",
    },
    Key {
        name: "snapshot_every",
        flag: "--snapshot-every",
        default: Some("100000"),
        help: "save a snapshot of the state every this many events",
    },
    Key {
        name: "retain_days",
        flag: "--retain-days",
        default: None,
        help: "delete events received more than this many days ago once a snapshot covers them (0: as soon as one does)",
    },
    Key {
        name: "future_tolerance",
        flag: "--future-tolerance",
        default: Some("600"),
        help: "refuse events more than this many seconds ahead of the server's clock",
    },
    Key {
        name: "clock",
        flag: "--clock",
        default: None,
        help: "fix the server's clock at an instant (RFC 3339; demonstrations and tests)",
    },
    Key {
        name: "rules",
        flag: "--rules",
        default: None,
        help: "the alert rules file (TOML; `yiping rules` prints the defaults)",
    },
    Key {
        name: "nats",
        flag: "--nats",
        default: None,
        help: "a NATS server (JetStream) whose stream is the log, shared by every node; sources may publish NDJSON on yiping.in.<source>",
    },
    Key {
        name: "nats_replicas",
        flag: "--nats-replicas",
        default: Some("1"),
        help: "copies of the log stream, on as many NATS servers (3 in a NATS cluster)",
    },
    Key {
        name: "fanout_threads",
        flag: "--fanout-threads",
        default: None,
        help: "threads that write to websocket clients (unset: half the machine's cores, at least one)",
    },
];

/// The key named `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// What the three places hold, before they are checked and merged.
pub struct Layers<'a> {
    /// The configuration file: its name as given and its text.
    pub file: Option<(PathBuf, String)>,
    /// The environment (a variable's value by name).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The flags given on the command line: key and value as typed (booleans as `true`/`false`).
    pub flags: Vec<(&'static str, String)>,
}

impl fmt::Debug for Layers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layers").field("file", &self.file).field("flags", &self.flags).finish_non_exhaustive()
    }
}

/// The effective configuration of `yiping serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The root region's adcode.
    pub root_region: Set<String>,
    /// The folder of the deployment's own boundary files (None: the shipped layers).
    pub boundaries: Set<Option<PathBuf>>,
    /// The wall's title.
    pub title: Set<Option<String>>,
    /// The deployment's monitoring sections (None: the built-in ones under the root region),
    /// each with where it was written.
    pub sections: Option<Vec<SectionSpec>>,
    /// Address to listen on.
    pub addr: Set<SocketAddr>,
    /// Folder for the server's files.
    pub data: Set<PathBuf>,
    /// Anonymous reading.
    pub anonymous: Set<Anonymous>,
    /// Hours a login lasts.
    pub session_hours: Set<u64>,
    /// Mark the session cookie `Secure`.
    pub secure_cookie: Set<bool>,
    /// Run the built-in simulator.
    pub simulator: Set<bool>,
    /// The simulator's seed.
    pub seed: Set<u64>,
    /// The simulator's activity multiplier.
    pub speed: Set<f64>,
    /// Events between snapshots.
    pub snapshot_every: Set<u64>,
    /// Days of events kept (None: all).
    pub retain_days: Set<Option<u32>>,
    /// Seconds an event's time may be ahead of the clock.
    pub future_tolerance: Set<i64>,
    /// A fixed clock.
    pub clock: Set<Option<Timestamp>>,
    /// The alert rules file.
    pub rules: Set<Option<PathBuf>>,
    /// A NATS server whose stream is the log.
    pub nats: Set<Option<String>>,
    /// Copies of the log stream.
    pub nats_replicas: Set<usize>,
    /// Threads that write to websocket clients (None: half the cores).
    pub fanout_threads: Set<Option<usize>>,
}

/// A value as read from one place, before it is parsed for its key.
struct Raw {
    text: String,
    origin: Origin,
}

/// Why a configuration was refused: every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<String>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the configuration is refused:")?;
        for p in &self.0 {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// The file's keys, each with its value as text and its line, and its `[[sections]]`; problems go
/// to `problems`.
fn file_values(
    path: &std::path::Path,
    text: &str,
    problems: &mut Vec<String>,
) -> (Vec<(String, Raw)>, Option<Vec<SectionSpec>>) {
    let name = path.display();
    let spans = match toml::de::DeTable::parse(text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            problems.push(format!("{name} line {line}: not valid TOML: {}", e.message().trim()));
            return (Vec::new(), None);
        }
    };
    let mut out = Vec::new();
    let mut sections = None;
    for (k, v) in spans.get_ref() {
        let line = line_of(text, k.span().start);
        let key_name = k.get_ref().to_string();
        let here = || format!("{name} line {line}: {key_name}");
        use toml::de::DeValue;
        if key_name == "sections" {
            match v.get_ref() {
                DeValue::Array(items) => {
                    let mut specs = Vec::new();
                    for item in items.iter() {
                        let at = line_of(text, item.span().start);
                        match item.get_ref() {
                            DeValue::Table(t) => {
                                if let Some(s) = section_of(t, text, &format!("{name} line {at}"), problems) {
                                    specs.push(s);
                                }
                            }
                            _ => problems.push(format!(
                                "{name} line {at}: sections = {}: expected [[sections]] tables",
                                text.get(item.span()).unwrap_or("").trim()
                            )),
                        }
                    }
                    sections = Some(specs);
                }
                _ => problems.push(format!(
                    "{name} line {line}: sections = {}: expected [[sections]] tables",
                    text.get(v.span()).unwrap_or("").trim()
                )),
            }
            continue;
        }
        if key(&key_name).is_none() {
            let mut known: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
            known.push("[[sections]]");
            problems.push(format!("{}: unknown key (the keys are {})", here(), known.join(", ")));
            continue;
        }
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) if i.radix() != 10 => {
                problems.push(format!("{}: write the number in decimal", here()));
                continue;
            }
            DeValue::Integer(i) => i.as_str().replace('_', ""),
            DeValue::Float(x) => x.as_str().replace('_', ""),
            DeValue::Boolean(b) => b.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            DeValue::Array(_) | DeValue::Table(_) => {
                problems.push(format!("{}: expected a single value, not a list or a table", here()));
                continue;
            }
        };
        out.push((key_name, Raw { text, origin: Origin::File { path: path.to_path_buf(), line } }));
    }
    (out, sections)
}

/// One `[[sections]]` table, or its problems (each naming its line, field and value).
fn section_of(
    table: &toml::de::DeTable<'_>,
    text: &str,
    origin: &str,
    problems: &mut Vec<String>,
) -> Option<SectionSpec> {
    use toml::de::DeValue;
    const FIELDS: [&str; 7] = ["id", "name", "river", "body", "lon", "lat", "target"];
    let before = problems.len();
    let get = |field: &str| table.iter().find(|(k, _)| k.get_ref() == field).map(|(_, v)| v);
    let file = origin.rsplit_once(" line ").map_or(origin, |(f, _)| f);
    let at = |v: &toml::Spanned<DeValue<'_>>| format!("{file} line {}", line_of(text, v.span().start));
    // A value as it is written in the file.
    let written = |v: &toml::Spanned<DeValue<'_>>| text.get(v.span()).unwrap_or("").trim().to_owned();
    for (k, _) in table.iter() {
        if !FIELDS.contains(&k.get_ref().as_ref()) {
            let line = line_of(text, k.span().start);
            problems.push(format!(
                "{file} line {line}: sections.{}: unknown field (the fields are {})",
                k.get_ref(),
                FIELDS.join(", ")
            ));
        }
    }
    let string = |field: &str, problems: &mut Vec<String>| match get(field) {
        Some(v) => match v.get_ref() {
            // Ids and names as meant: spaces around them are not part of them.
            DeValue::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => {
                problems.push(format!(
                    "{}: sections.{field} = {}: expected a non-empty string",
                    at(v),
                    written(v)
                ));
                None
            }
        },
        None => {
            problems.push(format!("{origin}: [[sections]] without {field}"));
            None
        }
    };
    let (id, name, river, body) = (
        string("id", problems),
        string("name", problems),
        string("river", problems),
        string("body", problems),
    );
    let body = body.and_then(|b| match b.as_str() {
        "river" => Some(WaterBody::River),
        "lake" => Some(WaterBody::Lake),
        _ => {
            let v = get("body").expect("read above");
            problems.push(format!("{}: sections.body = {b:?}: expected \"river\" or \"lake\"", at(v)));
            None
        }
    });
    let number =
        |field: &str, range: std::ops::RangeInclusive<f64>, problems: &mut Vec<String>| match get(field) {
            Some(v) => {
                let x = match v.get_ref() {
                    DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
                    DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', "").parse::<f64>().ok(),
                    _ => None,
                };
                match x.filter(|x| range.contains(x)) {
                    Some(x) => Some(x),
                    None => {
                        problems.push(format!(
                            "{}: sections.{field} = {}: expected degrees from {} to {}",
                            at(v),
                            written(v),
                            range.start(),
                            range.end()
                        ));
                        None
                    }
                }
            }
            None => {
                problems.push(format!("{origin}: [[sections]] without {field}"));
                None
            }
        };
    let lon = number("lon", -180.0..=180.0, problems);
    let lat = number("lat", -90.0..=90.0, problems);
    let target = match get("target") {
        None => None,
        Some(v) => match v.get_ref() {
            DeValue::String(s) => match parse_class(s) {
                Some(c) => Some(c),
                None => {
                    problems.push(format!(
                        "{}: sections.target = {:?}: expected a class, \"I\" to \"V\" (or Ⅰ to Ⅴ)",
                        at(v),
                        s.as_ref()
                    ));
                    None
                }
            },
            _ => {
                problems.push(format!(
                    "{}: sections.target = {}: expected a class such as \"III\"",
                    at(v),
                    written(v)
                ));
                None
            }
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(SectionSpec {
        id: id?,
        name: name?,
        river: river?,
        body: body?,
        lon: lon?,
        lat: lat?,
        target,
        origin: origin.to_owned(),
    })
}

/// A water class as a deployment writes it: `III` or `Ⅲ`.
fn parse_class(s: &str) -> Option<WaterClass> {
    WaterClass::ALL.into_iter().find(|c| {
        let t = s.trim();
        t == c.code() || t == c.label() || t == format!("{}类", c.label())
    })
}

/// The value for `key` from the highest place that sets it.
fn pick(key: &Key, layers: &Layers<'_>, file: &[(String, Raw)]) -> Option<Raw> {
    if let Some((_, v)) = layers.flags.iter().rev().find(|(k, _)| *k == key.name) {
        return Some(Raw { text: v.clone(), origin: Origin::Flag(key.flag.to_string()) });
    }
    let var = key.env();
    if let Some(v) = (layers.env)(&var) {
        return Some(Raw { text: v, origin: Origin::Env(var) });
    }
    if let Some((_, raw)) = file.iter().find(|(k, _)| k == key.name) {
        return Some(Raw { text: raw.text.clone(), origin: raw.origin.clone() });
    }
    key.default.map(|d| Raw { text: d.to_string(), origin: Origin::Default })
}

/// How a problem with a value is told: where, which key, which value.
fn where_(key: &Key, raw: &Raw) -> String {
    match &raw.origin {
        Origin::Env(var) => format!("{var}={:?}", raw.text),
        Origin::Flag(flag) => format!("{flag} {:?}", raw.text),
        o => format!("{o}: {} = {:?}", key.name, raw.text),
    }
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// A whole number that TOML can hold (up to `i64::MAX`), so that `yiping config` prints a valid
/// file.
fn parse_whole<T: TryFrom<i64>>(s: &str, what: &str) -> Result<T, String> {
    s.trim().parse::<i64>().ok().and_then(|v| T::try_from(v).ok()).ok_or_else(|| format!("expected {what}"))
}

/// Check and merge the three places into the effective configuration.
pub fn resolve(layers: &Layers<'_>) -> Result<Site, Refused> {
    let mut problems = Vec::new();
    let (file, sections) = match &layers.file {
        Some((path, text)) => file_values(path, text, &mut problems),
        None => (Vec::new(), None),
    };
    // One setting: the value from the highest place, parsed (a problem is noted, the default
    // stands in so that every problem is found in one go).
    macro_rules! setting {
        ($name:literal, $fallback:expr, $parse:expr) => {{
            let k = key($name).expect("a known key");
            match pick(k, layers, &file) {
                None => Set { value: $fallback, origin: Origin::Default },
                Some(raw) => match ($parse)(raw.text.as_str()) {
                    Ok(v) => Set { value: v, origin: raw.origin },
                    Err(why) => {
                        problems.push(format!("{}: {why}", where_(k, &raw)));
                        Set { value: $fallback, origin: Origin::Default }
                    }
                },
            }
        }};
    }
    let site = Site {
        root_region: setting!("root_region", crate::places::ROOT.to_owned(), |s: &str| {
            let s = s.trim();
            if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(s.to_owned())
            } else {
                Err("expected a six-digit adcode, e.g. 420000 for the province or 420200 for 黄石"
                    .to_string())
            }
        }),
        boundaries: setting!("boundaries", None, |s: &str| if s.trim().is_empty() {
            Err("expected a folder".to_string())
        } else {
            Ok(Some(PathBuf::from(s)))
        }),
        title: setting!("title", None, |s: &str| if s.trim().is_empty() {
            Err("expected a title".to_string())
        } else {
            Ok(Some(s.trim().to_owned()))
        }),
        sections,
        addr: setting!("addr", SocketAddr::from(([127, 0, 0, 1], 8080)), |s: &str| s
            .trim()
            .parse::<SocketAddr>()
            .map_err(|_| "expected an address and port, e.g. 0.0.0.0:8080".to_string())),
        data: setting!("data", PathBuf::from("./data"), |s: &str| if s.trim().is_empty() {
            Err("expected a folder".to_string())
        } else {
            Ok(PathBuf::from(s))
        }),
        anonymous: setting!("anonymous", Anonymous::Local, |s: &str| match s.trim() {
            "off" => Ok(Anonymous::Off),
            "local" => Ok(Anonymous::Local),
            "all" => Ok(Anonymous::All),
            _ => Err("expected off, local or all".to_string()),
        }),
        session_hours: setting!("session_hours", 12, |s: &str| parse_whole::<u64>(
            s,
            "a whole number of hours"
        )
        .and_then(|h| if (1..=24 * 30).contains(&h) {
            Ok(h)
        } else {
            Err("expected 1 to 720 hours".into())
        })),
        secure_cookie: setting!("secure_cookie", false, parse_bool),
        simulator: setting!("simulator", true, parse_bool),
        seed: setting!("seed", 2026, |s: &str| parse_whole::<u64>(s, "a whole number")),
        speed: setting!("speed", 60.0, |s: &str| s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0 && *v <= 100_000.0)
            .ok_or_else(|| "expected a number above 0 and at most 100000".to_string())),
        snapshot_every: setting!("snapshot_every", 100_000, |s: &str| parse_whole::<u64>(
            s,
            "a whole number"
        )
        .and_then(|n| if n >= 1 { Ok(n) } else { Err("expected at least 1".into()) })),
        retain_days: setting!("retain_days", None, |s: &str| parse_whole::<u32>(s, "a whole number of days")
            .map(Some)),
        future_tolerance: setting!("future_tolerance", crate::FUTURE_TOLERANCE_S, |s: &str| {
            parse_whole::<i64>(s, "a whole number of seconds")
                .and_then(|n| if n >= 0 { Ok(n) } else { Err("expected 0 or more seconds".into()) })
        }),
        clock: setting!("clock", None, |s: &str| Timestamp::parse(s.trim())
            .map(Some)
            .map_err(|e| format!("expected an instant with its offset (RFC 3339): {e}"))),
        rules: setting!("rules", None, |s: &str| if s.trim().is_empty() {
            Err("expected a file".to_string())
        } else {
            Ok(Some(PathBuf::from(s)))
        }),
        nats: setting!("nats", None, |s: &str| {
            let s = s.trim();
            let scheme = s.split_once("://").map(|(scheme, rest)| (scheme, rest.is_empty()));
            match scheme {
                Some(("nats" | "tls", false)) => Ok(Some(s.to_owned())),
                _ => Err("expected a server's address such as nats://127.0.0.1:4222".to_string()),
            }
        }),
        nats_replicas: setting!("nats_replicas", 1, |s: &str| parse_whole::<usize>(s, "a whole number")
            .and_then(|n| if (1..=5).contains(&n) {
                Ok(n)
            } else {
                Err("expected 1 to 5 (JetStream keeps at most 5 copies)".into())
            })),
        fanout_threads: setting!("fanout_threads", None, |s: &str| parse_whole::<usize>(s, "a whole number")
            .and_then(|n| if (1..=256).contains(&n) {
                Ok(Some(n))
            } else {
                Err("expected 1 to 256".into())
            })),
    };
    if problems.is_empty() { Ok(site) } else { Err(Refused(problems)) }
}

/// A string as a TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Site {
    /// Every key's value as it would be written in `yiping.toml` (None: unset) and its origin.
    pub fn entries(&self) -> Vec<(&'static Key, Option<String>, &Origin)> {
        let e = |name: &str| key(name).expect("a known key");
        let anonymous = match self.anonymous.value {
            Anonymous::Off => "off",
            Anonymous::Local => "local",
            Anonymous::All => "all",
        };
        vec![
            (e("root_region"), Some(quoted(&self.root_region.value)), &self.root_region.origin),
            (
                e("boundaries"),
                self.boundaries.value.as_ref().map(|p| quoted(&p.display().to_string())),
                &self.boundaries.origin,
            ),
            (e("title"), self.title.value.as_deref().map(quoted), &self.title.origin),
            (e("addr"), Some(quoted(&self.addr.value.to_string())), &self.addr.origin),
            (e("data"), Some(quoted(&self.data.value.display().to_string())), &self.data.origin),
            (e("anonymous"), Some(quoted(anonymous)), &self.anonymous.origin),
            (e("session_hours"), Some(self.session_hours.value.to_string()), &self.session_hours.origin),
            (e("secure_cookie"), Some(self.secure_cookie.value.to_string()), &self.secure_cookie.origin),
            (e("simulator"), Some(self.simulator.value.to_string()), &self.simulator.origin),
            (e("seed"), Some(self.seed.value.to_string()), &self.seed.origin),
            (e("speed"), Some(format!("{:?}", self.speed.value)), &self.speed.origin),
            (e("snapshot_every"), Some(self.snapshot_every.value.to_string()), &self.snapshot_every.origin),
            (e("retain_days"), self.retain_days.value.map(|d| d.to_string()), &self.retain_days.origin),
            (
                e("future_tolerance"),
                Some(self.future_tolerance.value.to_string()),
                &self.future_tolerance.origin,
            ),
            (e("clock"), self.clock.value.as_ref().map(|c| quoted(&c.to_string())), &self.clock.origin),
            (
                e("rules"),
                self.rules.value.as_ref().map(|p| quoted(&p.display().to_string())),
                &self.rules.origin,
            ),
            (e("nats"), self.nats.value.as_deref().map(quoted), &self.nats.origin),
            (e("nats_replicas"), Some(self.nats_replicas.value.to_string()), &self.nats_replicas.origin),
            (
                e("fanout_threads"),
                self.fanout_threads.value.map(|n| n.to_string()),
                &self.fanout_threads.origin,
            ),
        ]
    }

    /// The effective configuration as a `yiping.toml` a deployment can start from: each key with
    /// what it sets, its variable and flag, and after its value where that came from (`default`,
    /// `yiping.toml line 3`, `environment YIPING_SEED`, `flag --seed`); unset keys commented out.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("# yiping serve: the effective configuration (`yiping config`)\n");
        for (k, value, origin) in self.entries() {
            out.push_str(&format!("\n# {} ({}, {})\n", k.help, k.env(), k.flag));
            match value {
                Some(v) => out.push_str(&format!("{} = {v}  # {origin}\n", k.name)),
                None => out.push_str(&format!("# {} =  (unset)\n", k.name)),
            }
        }
        match &self.sections {
            None => out.push_str("\n# the monitoring sections: the built-in ones under the root region\n"),
            Some(sections) => {
                out.push_str("\n# the monitoring sections (file only)\n");
                for s in sections {
                    let body = match s.body {
                        WaterBody::River => "river",
                        WaterBody::Lake => "lake",
                    };
                    out.push_str(&format!(
                        "[[sections]]  # {}\nid = {}\nname = {}\nriver = {}\nbody = {}\nlon = {:?}\nlat = {:?}\n",
                        s.origin,
                        quoted(&s.id),
                        quoted(&s.name),
                        quoted(&s.river),
                        quoted(body),
                        s.lon,
                        s.lat
                    ));
                    if let Some(t) = s.target {
                        out.push_str(&format!("target = {}\n", quoted(t.code())));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(file: &str, env: &[(&str, &str)], flags: Vec<(&'static str, String)>) -> Result<Site, Refused> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        resolve(&Layers { file: Some(("site.toml".into(), file.to_string())), env: &lookup, flags })
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = site("", &[], vec![]).expect("valid");
        assert_eq!(s.addr.value, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(s.addr.origin, Origin::Default);
        assert_eq!(s.anonymous.value, Anonymous::Local);
        assert!(s.simulator.value);
        assert_eq!(s.retain_days.value, None);
        assert_eq!(s.future_tolerance.value, crate::FUTURE_TOLERANCE_S);
        // The printed defaults are the defaults.
        for k in KEYS {
            let printed = s.entries().into_iter().find(|(e, _, _)| e.name == k.name).expect("printed");
            if let (Some(d), Some(v)) = (k.default, printed.1) {
                assert_eq!(v.trim_matches('"').trim_end_matches(".0"), d, "{}", k.name);
            }
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file() {
        let file = "seed = 1\nspeed = 2\nsession_hours = 3\n";
        let env = [("YIPING_SEED", "10"), ("YIPING_SPEED", "20")];
        let s = site(file, &env, vec![("seed", "100".into())]).expect("valid");
        assert_eq!((s.seed.value, s.seed.origin.clone()), (100, Origin::Flag("--seed".into())));
        assert_eq!((s.speed.value, s.speed.origin.clone()), (20.0, Origin::Env("YIPING_SPEED".into())));
        assert_eq!(s.session_hours.value, 3);
        assert_eq!(s.session_hours.origin, Origin::File { path: "site.toml".into(), line: 3 });
        assert_eq!(s.addr.origin, Origin::Default);
    }

    #[test]
    fn file_values_of_every_kind() {
        let file = r#"
addr = "0.0.0.0:9000"
data = "/var/lib/yiping"
anonymous = "off"
secure_cookie = true
simulator = false
speed = 1.5
snapshot_every = 50_000
retain_days = 400
clock = 2026-11-20T08:00:00+08:00
rules = "rules.toml"
"#;
        let s = site(file, &[], vec![]).expect("valid");
        assert_eq!(s.addr.value, SocketAddr::from(([0, 0, 0, 0], 9000)));
        assert_eq!(s.data.value, PathBuf::from("/var/lib/yiping"));
        assert_eq!(s.anonymous.value, Anonymous::Off);
        assert!(s.secure_cookie.value);
        assert!(!s.simulator.value);
        assert_eq!(s.speed.value, 1.5);
        assert_eq!(s.snapshot_every.value, 50_000);
        assert_eq!(s.retain_days.value, Some(400));
        assert_eq!(s.clock.value.map(|c| c.to_string()), Some("2026-11-20T00:00:00Z".to_string()));
        assert_eq!(s.rules.value, Some(PathBuf::from("rules.toml")));
        // What `yiping config` prints reads back as the same configuration.
        let again = site(&s.to_toml(), &[], vec![]).expect("its own output is valid");
        let values = |s: &Site| s.entries().into_iter().map(|(k, v, _)| (k.name, v)).collect::<Vec<_>>();
        assert_eq!(values(&again), values(&s));
    }

    #[test]
    fn every_refusal_names_where_the_key_and_the_value() {
        let file = "seed = \"seven\"\nport = 8080\nspeed = -1\nanonymous = \"some\"\nrules = []\n";
        let env = [("YIPING_SESSION_HOURS", "0"), ("YIPING_ADDR", "localhost")];
        let Err(Refused(p)) =
            site(file, &env, vec![("clock", "yesterday".into()), ("nats", "localhost:4222".into())])
        else {
            panic!("refused")
        };
        let expect = [
            "site.toml line 2: port: unknown key (the keys are root_region, boundaries, title, addr, data,",
            "site.toml line 5: rules: expected a single value, not a list or a table",
            "YIPING_ADDR=\"localhost\": expected an address and port",
            "YIPING_SESSION_HOURS=\"0\": expected 1 to 720 hours",
            "site.toml line 1: seed = \"seven\": expected a whole number",
            "site.toml line 3: speed = \"-1\": expected a number above 0",
            "site.toml line 4: anonymous = \"some\": expected off, local or all",
            "--clock \"yesterday\": expected an instant with its offset",
            "--nats \"localhost:4222\": expected a server's address such as nats://127.0.0.1:4222",
        ];
        for e in expect {
            assert!(p.iter().any(|l| l.starts_with(e)), "missing {e:?} in {p:#?}");
        }
        assert_eq!(p.len(), expect.len(), "{p:#?}");
    }

    const HUANGSHI: &str = "root_region = \"420200\"\ntitle = \"智慧黄石 · 一屏全览\"\n\n[[sections]]\nid = \"hs-a\"\nname = \"长江黄石段\"\nriver = \"长江\"\nbody = \"river\"\nlon = 115.2\nlat = 30.17\ntarget = \"Ⅱ\"\n\n[[sections]]\nid = \"hs-b\"\nname = \"大冶湖湖心\"\nriver = \"大冶湖\"\nbody = \"lake\"\nlon = 115.1\nlat = 30.1\n";

    #[test]
    fn a_city_deployment_sets_its_root_title_and_sections() {
        let s = site(HUANGSHI, &[], vec![]).expect("valid");
        assert_eq!(s.root_region.value, "420200");
        assert_eq!(s.root_region.origin, Origin::File { path: "site.toml".into(), line: 1 });
        assert_eq!(s.title.value.as_deref(), Some("智慧黄石 · 一屏全览"));
        let sections = s.sections.as_ref().expect("sections");
        assert_eq!(sections.len(), 2);
        assert_eq!((sections[0].id.as_str(), sections[0].origin.as_str()), ("hs-a", "site.toml line 4"));
        assert_eq!(sections[0].target, Some(WaterClass::II));
        assert_eq!((sections[1].body, sections[1].target), (WaterBody::Lake, None));
        assert_eq!(sections[1].origin, "site.toml line 13");
        // The environment and the flags still win over the file.
        let s =
            site(HUANGSHI, &[("YIPING_ROOT_REGION", "420000")], vec![("title", "T".into())]).expect("valid");
        assert_eq!(s.root_region.origin, Origin::Env("YIPING_ROOT_REGION".into()));
        assert_eq!(s.title.value.as_deref(), Some("T"));
        // What `yiping config` prints reads back as the same configuration, sections too.
        let s = site(HUANGSHI, &[], vec![]).expect("valid");
        let again = site(&s.to_toml(), &[], vec![]).expect("its own output is valid");
        let values = |s: &Site| s.entries().into_iter().map(|(k, v, _)| (k.name, v)).collect::<Vec<_>>();
        assert_eq!(values(&again), values(&s));
        let strip = |v: &Option<Vec<SectionSpec>>| {
            v.clone().map(|v| {
                v.into_iter().map(|s| SectionSpec { origin: String::new(), ..s }).collect::<Vec<_>>()
            })
        };
        assert_eq!(strip(&again.sections), strip(&s.sections));
    }

    #[test]
    fn bad_sections_and_roots_are_refused_with_line_field_and_value() {
        let file = "root_region = \"4202\"\n[[sections]]\nid = \"x\"\nname = \"\"\nriver = \"长江\"\nbody = \"sea\"\nlon = 200\nlat = 30\ntarget = \"VI\"\ncolour = \"red\"\n[[sections]]\nid = \"y\"\n";
        let Err(Refused(p)) = site(file, &[], vec![]) else { panic!("refused") };
        let expect = [
            "site.toml line 1: root_region = \"4202\": expected a six-digit adcode",
            "site.toml line 10: sections.colour: unknown field (the fields are id, name,",
            "site.toml line 4: sections.name = \"\": expected a non-empty string",
            "site.toml line 6: sections.body = \"sea\": expected \"river\" or \"lake\"",
            "site.toml line 7: sections.lon = 200: expected degrees from -180 to 180",
            "site.toml line 9: sections.target = \"VI\": expected a class",
            "site.toml line 11: [[sections]] without name",
            "site.toml line 11: [[sections]] without river",
            "site.toml line 11: [[sections]] without body",
            "site.toml line 11: [[sections]] without lon",
            "site.toml line 11: [[sections]] without lat",
        ];
        for e in expect {
            assert!(p.iter().any(|l| l.starts_with(e)), "missing {e:?} in {p:#?}");
        }
        assert_eq!(p.len(), expect.len(), "{p:#?}");
        let Err(Refused(p)) = site("sections = 3\n", &[], vec![]) else { panic!("refused") };
        assert_eq!(p, vec!["site.toml line 1: sections = 3: expected [[sections]] tables".to_string()]);
        let Err(Refused(p)) = site("sections = [1]\n", &[], vec![]) else { panic!("refused") };
        assert_eq!(p, vec!["site.toml line 1: sections = 1: expected [[sections]] tables".to_string()]);
        // Spaces around an id are not part of it.
        let s = site(&HUANGSHI.replace("\"hs-a\"", "\" hs-a \""), &[], vec![]).expect("valid");
        assert_eq!(s.sections.expect("sections")[0].id, "hs-a");
    }

    #[test]
    fn numbers_are_decimal_and_fit_a_toml_integer() {
        let Err(Refused(p)) = site("speed = 2\nseed = 0x10\n", &[], vec![]) else { panic!("refused") };
        assert_eq!(p, vec!["site.toml line 2: seed: write the number in decimal".to_string()]);
        let Err(Refused(p)) = site("", &[("YIPING_SEED", "18446744073709551615")], vec![]) else {
            panic!("refused")
        };
        assert_eq!(p, vec!["YIPING_SEED=\"18446744073709551615\": expected a whole number".to_string()]);
    }

    #[test]
    fn a_file_that_is_not_toml_is_refused_with_its_line() {
        let Err(Refused(p)) = site("seed = 1\nspeed = = 2\n", &[], vec![]) else { panic!("refused") };
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("site.toml line 2: not valid TOML:"), "{p:?}");
    }

    #[test]
    fn environment_booleans_and_unset_optionals() {
        let s =
            site("retain_days = 30\n", &[("YIPING_SIMULATOR", "off"), ("YIPING_SECURE_COOKIE", "1")], vec![])
                .expect("valid");
        assert!(!s.simulator.value);
        assert!(s.secure_cookie.value);
        assert_eq!(s.retain_days.value, Some(30));
        let Err(Refused(p)) = site("", &[("YIPING_SIMULATOR", "maybe")], vec![]) else { panic!("refused") };
        assert_eq!(p, vec!["YIPING_SIMULATOR=\"maybe\": expected true or false".to_string()]);
    }
}
