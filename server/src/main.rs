//! `yiping`: the command-centre aggregator and wall server.

use std::io::{BufWriter, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use yiping_protocol::events::Envelope;
use yiping_server::store::{Appended, Store};

/// mimalloc: the fold, the checks and the fan-out allocate small, short-lived values on several
/// threads; the ingest benchmark measured it against glibc's allocator (`--example bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// yiping (一屏): the one-screen command centre for Hubei's digital government.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the wall app, the websocket `/ws`, the REST API `/api/v1`, `/healthz` and `/metrics`.
    ///
    /// With the defaults it runs stand-alone, with no other server: the event log lives in SQLite
    /// under --data, and a built-in simulator feeds it Hubei data (labelled as simulated on the
    /// wall). On start it rebuilds its state from the log.
    ///
    /// Settings come from `yiping.toml` (--config), `YIPING_*` environment variables and these
    /// flags, a flag winning over the environment and the environment over the file; `yiping
    /// config` prints what is in force and where each value came from.
    Serve(ServeArgs),
    /// Print the configuration `yiping serve` would run with (the same file, environment and
    /// flags) as a `yiping.toml`, each value with where it came from; refuse a bad one as `serve`
    /// does (exit status 1).
    Config(ServeArgs),
    /// Manage user accounts (admins, on the server machine).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Print the alert rules in force by default, as TOML (a starting point for --rules).
    Rules,
    /// Write the audit trail as NDJSON in order: every write (who, what, when, from where) and
    /// every step of every alert.
    Trail {
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
        /// Only the steps of this alert.
        #[arg(long)]
        alert: Option<String>,
    },
    /// Manage ingest tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Write simulated events as NDJSON to standard output, exactly as `POST /api/v1/events`
    /// accepts them (the source comes from the token used to send them).
    Simulate {
        /// Seed: the same seed (and --start) gives the same events.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// How many events to write.
        #[arg(long, default_value_t = 1000, conflicts_with = "from")]
        count: usize,
        /// Activity multiplier (60 = one hour's activity per simulated minute; default 60, or 1
        /// with --from: a history at the real volume).
        #[arg(long)]
        speed: Option<f64>,
        /// Simulated clock start, RFC 3339 (default: so that the events end now).
        #[arg(long, conflicts_with = "from")]
        start: Option<String>,
        /// Generate a history from this Beijing date (`2024-01-01`) or instant (RFC 3339) to --to,
        /// minute by minute at the real volume (about 6,200 events a day).
        #[arg(long, value_name = "DATE|TIME")]
        from: Option<String>,
        /// End of the history: `now` (the default) or an instant (RFC 3339).
        #[arg(long, value_name = "TIME|now", requires = "from")]
        to: Option<String>,
        /// Write the history straight into this data folder's log (source `simulator`, server
        /// stopped) instead of standard output; a server started on it replays it.
        #[arg(long = "data", value_name = "DIR", requires = "from")]
        data_dir: Option<PathBuf>,
    },
    /// Write the event log as NDJSON in order, each event with its topic, seq, county and the time
    /// it was received (for audit, backup and independent checks).
    Export {
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Check that every figure reconciles with the raw events: rebuild the state as the server
    /// does (latest snapshot, then the log after it), recount every region's figures from the raw
    /// events independently, and compare. Exits non-zero on any difference.
    Audit {
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
        /// After a clean audit, print this region's recounted figures as JSON (e.g. `420000` for
        /// the province, which the wall's overview shows).
        #[arg(long, value_name = "ADCODE")]
        figures: Option<String>,
    },
    /// Import historical events from an NDJSON file into a stopped server's log. Lines are checked
    /// exactly as the ingest API checks them; refused lines are reported on standard error.
    Import {
        /// The NDJSON file (`-` for standard input).
        file: PathBuf,
        /// The source the events come from.
        #[arg(long)]
        source: String,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
}

/// The settings of `yiping serve` as flags (see `yiping_server::site`). A flag not given leaves
/// the key to the environment, the configuration file or its default, which `yiping config`
/// prints.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The configuration file (default: `YIPING_CONFIG`, else ./yiping.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The region this deployment covers: 420000 for the province (default), or a
    /// prefecture-level adcode (420200 for 黄石): the map, the rankings and every figure start there.
    #[arg(long, value_name = "ADCODE")]
    root_region: Option<String>,
    /// A folder with the deployment's official boundary files (province.geojson,
    /// prefectures.geojson, counties.geojson; checked at start); default: the shipped layers.
    #[arg(long, value_name = "FOLDER")]
    boundaries: Option<PathBuf>,
    /// The wall's title (default: the root region's name and 一屏全览).
    #[arg(long)]
    title: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Folder for the server's files, created if missing (default ./data).
    #[arg(long = "data")]
    data_dir: Option<PathBuf>,
    /// Do not run the built-in simulator.
    #[arg(long)]
    no_simulator: bool,
    /// Seed of the simulator: the same seed gives the same sequence of values (default 2026).
    #[arg(long)]
    seed: Option<u64>,
    /// Simulator speed: activity multiplier (default 60 = one hour's activity per real minute).
    #[arg(long)]
    speed: Option<f64>,
    /// Save a snapshot of the state every this many events (start-up replays only the events
    /// after the latest snapshot; default 100000).
    #[arg(long)]
    snapshot_every: Option<u64>,
    /// Delete events received more than this many days ago once a snapshot covers them
    /// (default: keep every event). Figures stay the same; the history of old events goes, and
    /// re-sent events older than that are no longer recognised as duplicates, and time travel
    /// (past instants, period comparisons) is off.
    #[arg(long)]
    retain_days: Option<u32>,
    /// Refuse events whose time is more than this many seconds ahead of this server's clock
    /// (old times are accepted: backfill is normal; default 600).
    #[arg(long)]
    future_tolerance: Option<i64>,
    /// Fix this server's clock at an instant (RFC 3339), for demonstrations and tests: what
    /// "today" is for overdue steps, "now" for the alert rules, and "the future" for ingest.
    #[arg(long, value_name = "TIME", value_parser = parse_instant)]
    clock: Option<yiping_protocol::instant::Timestamp>,
    /// Alert rules (TOML; what it leaves out keeps the defaults `yiping rules` prints).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// A NATS server (JetStream) whose stream is the log, shared by every node started with it;
    /// sources may publish NDJSON on `yiping.in.<source>` (refused lines go to
    /// `yiping.dead.<source>`).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Copies of the log stream, on as many NATS servers (default 1; 3 in a NATS cluster).
    #[arg(long, value_name = "N")]
    nats_replicas: Option<usize>,
    /// Threads that write to websocket clients (default: half the machine's cores, at least
    /// one), beside those that serve HTTP, ingest and the API.
    #[arg(long, value_name = "N")]
    fanout_threads: Option<usize>,
    /// Who may look at the wall without logging in: nobody, clients on this machine (the
    /// wall's own browser; behind a reverse proxy on this machine use `off`), or everybody
    /// (default local). Every change needs a login whatever this says.
    #[arg(long, value_enum)]
    anonymous: Option<yiping_server::auth::Anonymous>,
    /// Hours a login lasts (default 12).
    #[arg(long)]
    session_hours: Option<u64>,
    /// Mark the session cookie `Secure` (set this when users reach the server over HTTPS).
    #[arg(long)]
    secure_cookie: bool,
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Create a token for a source and print it (it cannot be shown again: only its hash is kept).
    Create {
        /// The source name, e.g. `hbsthj` (the environment department's platform).
        #[arg(long)]
        source: String,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// List the sources: each token by its id (the token itself is not kept), when it was made,
    /// whether it is valid, and the source's rate limit.
    List {
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// End a token now (a running server refuses it at once).
    Revoke {
        /// The token's id from `yiping token list` (at least its first 6 hex digits).
        #[arg(long)]
        id: String,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Make a new token for a source and print it; the source's other tokens end after the grace
    /// period, so that it can switch without losing a batch.
    Rotate {
        /// The source name.
        #[arg(long)]
        source: String,
        /// Hours the other tokens stay valid (at most a year).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=i64::from(yiping_server::sources::MAX_GRACE_HOURS)))]
        grace_hours: u32,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Limit a source to a rate (events a second, over bursts of 10 s); a faster source is
    /// answered 429 with `Retry-After`. `--rate none` lifts the limit.
    Limit {
        /// The source name.
        #[arg(long)]
        source: String,
        /// Events a second, or `none`.
        #[arg(long, value_parser = parse_rate)]
        rate: Rate,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
}

/// A rate limit on the command line: events a second, or none.
#[derive(Debug, Clone, Copy)]
struct Rate(Option<f64>);

fn parse_rate(s: &str) -> Result<Rate, String> {
    if s.trim() == "none" {
        return Ok(Rate(None));
    }
    let r: f64 = s.trim().parse().map_err(|_| format!("{s:?}: events a second, or none"))?;
    yiping_server::sources::check_rate(r)?;
    Ok(Rate(Some(r)))
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Add a user; the password is read from the first line of standard input.
    Add {
        /// Login name.
        #[arg(long)]
        name: String,
        /// Role: viewer, duty, project_manager, presenter or admin.
        #[arg(long)]
        role: String,
        /// Region scope: an adcode or prefix (e.g. 420200 for 黄石); none for the whole province.
        #[arg(long)]
        scope: Option<String>,
        /// A NATS server of a cluster's log: the change goes through the log stream to every
        /// node (instead of into the data folder of one).
        #[arg(long)]
        nats: Option<String>,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// List the users.
    List {
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Disable a user: they cannot log in and their sessions end at once.
    Disable {
        /// Login name.
        #[arg(long)]
        name: String,
        /// A NATS server of a cluster's log: the change goes through the log stream to every
        /// node (instead of into the data folder of one).
        #[arg(long)]
        nats: Option<String>,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Enable a disabled user again.
    Enable {
        /// Login name.
        #[arg(long)]
        name: String,
        /// A NATS server of a cluster's log: the change goes through the log stream to every
        /// node (instead of into the data folder of one).
        #[arg(long)]
        nats: Option<String>,
        /// The server's data folder (default: `data` of the site configuration, see `yiping config`).
        #[arg(long = "data", default_value = "./data")]
        data_dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // chromiumoxide warns of every DevTools event newer than its protocol (exports).
                .unwrap_or_else(|_| "info,tower_http=warn,chromiumoxide=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Err(e) = configured_data(&mut cli.command, &matches) {
        eprintln!("yiping: {e:#}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Serve(args) => match site(&args).and_then(|s| config_of(&s)) {
            Ok(config) => serve(config).await,
            Err(e) => Err(e),
        },
        Command::Config(args) => site(&args).and_then(|s| {
            places_of(&s)?;
            print!("{}", s.to_toml());
            Ok(())
        }),
        Command::User { action } => user(action).await,
        Command::Rules => {
            print!("{}", yiping_server::alerts::rules::to_toml(&yiping_server::alerts::Rules::default()));
            Ok(())
        }
        Command::Trail { data_dir, alert } => trail(&data_dir, alert),
        Command::Token { action } => token(action),
        Command::Simulate { seed, count, speed, start, from: None, .. } => {
            simulate(seed, count, speed.unwrap_or(60.0), start.as_deref())
        }
        Command::Simulate { seed, speed, from: Some(from), to, data_dir, .. } => {
            simulate_history(seed, speed.unwrap_or(1.0), &from, to.as_deref(), data_dir.as_deref())
        }
        Command::Export { data_dir } => export(&data_dir),
        Command::Audit { data_dir, figures } => audit(&data_dir, figures.as_deref()),
        Command::Import { file, source, data_dir } => import(&file, &source, &data_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("yiping: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The data folder of an offline command (`user`, `token`, `trail`, `export`, `audit`,
/// `import`), when its `--data` is not given: the one the site configuration names (the
/// configuration file and `YIPING_DATA`), so that the commands find a deployment's folder as
/// its server does.
fn configured_data(command: &mut Command, matches: &ArgMatches) -> anyhow::Result<()> {
    let dir = match command {
        Command::User { action } => match action {
            UserAction::Add { data_dir, .. }
            | UserAction::List { data_dir }
            | UserAction::Disable { data_dir, .. }
            | UserAction::Enable { data_dir, .. } => data_dir,
        },
        Command::Token { action } => match action {
            TokenAction::Create { data_dir, .. }
            | TokenAction::List { data_dir }
            | TokenAction::Revoke { data_dir, .. }
            | TokenAction::Rotate { data_dir, .. }
            | TokenAction::Limit { data_dir, .. } => data_dir,
        },
        Command::Trail { data_dir, .. }
        | Command::Export { data_dir }
        | Command::Audit { data_dir, .. }
        | Command::Import { data_dir, .. } => data_dir,
        _ => return Ok(()),
    };
    let mut leaf = matches;
    while let Some((_, m)) = leaf.subcommand() {
        leaf = m;
    }
    if leaf.value_source("data_dir") == Some(ValueSource::CommandLine) {
        return Ok(());
    }
    use yiping_server::site;
    let env = |k: &str| std::env::var(k).ok();
    *dir =
        site::resolve(&site::Layers { file: config_file(None)?, env: &env, flags: Vec::new() })?.data.value;
    Ok(())
}

/// The places of the deployment an offline command works on (`simulate`, `audit`, `import`):
/// the root region and the sections that the site configuration names (the configuration file
/// and the environment), checked against the boundary layers.
fn configured_places() -> anyhow::Result<yiping_server::places::Places> {
    use yiping_server::site;
    let env = |k: &str| std::env::var(k).ok();
    let site = site::resolve(&site::Layers { file: config_file(None)?, env: &env, flags: Vec::new() })?;
    places_of(&site)
}

/// The configuration's root region and sections, checked against the boundary layers: a fault
/// names where the root region was set, or the section's line.
fn places_of(site: &yiping_server::site::Site) -> anyhow::Result<yiping_server::places::Places> {
    use yiping_server::places::{Places, PlacesError};
    let boundaries = match &site.boundaries.value {
        None => yiping_maps::boundaries::Boundaries::shipped(),
        Some(dir) => {
            let read = |name: &str| {
                let path = dir.join(name);
                std::fs::read_to_string(&path).map(|text| (path.display().to_string(), text)).map_err(|e| {
                    anyhow::anyhow!(
                        "the configuration is refused:\n  {}: {}: {e}",
                        site.boundaries.origin,
                        path.display()
                    )
                })
            };
            let (p, f, c) =
                (read("province.geojson")?, read("prefectures.geojson")?, read("counties.geojson")?);
            yiping_maps::boundaries::Boundaries::check((&p.0, &p.1), (&f.0, &f.1), (&c.0, &c.1)).map_err(
                |problems| {
                    anyhow::anyhow!(
                        "the configuration is refused: the boundary files:\n  {}",
                        problems.join("\n  ")
                    )
                },
            )?
        }
    };
    Places::with_boundaries(&site.root_region.value, site.sections.clone(), std::sync::Arc::new(boundaries))
        .map_err(|e| {
            let why = match e {
                PlacesError::Root(m) => {
                    format!("{}: root_region = {:?}: {m}", site.root_region.origin, site.root_region.value)
                }
                PlacesError::Section(m) => m,
            };
            anyhow::anyhow!("the configuration is refused:\n  {why}")
        })
}

/// The flags of `serve` (or `config`) given on the command line, as the site configuration's
/// keys and values.
fn typed_flags(args: &ServeArgs) -> Vec<(&'static str, String)> {
    let text = |v: Option<String>, key: &'static str| v.map(|v| (key, v));
    [
        text(args.root_region.clone(), "root_region"),
        text(args.boundaries.as_ref().map(|p| p.display().to_string()), "boundaries"),
        text(args.title.clone(), "title"),
        text(args.addr.map(|a| a.to_string()), "addr"),
        text(args.data_dir.as_ref().map(|d| d.display().to_string()), "data"),
        text(args.no_simulator.then(|| "false".into()), "simulator"),
        text(args.seed.map(|v| v.to_string()), "seed"),
        text(args.speed.map(|v| v.to_string()), "speed"),
        text(args.snapshot_every.map(|v| v.to_string()), "snapshot_every"),
        text(args.retain_days.map(|v| v.to_string()), "retain_days"),
        text(args.future_tolerance.map(|v| v.to_string()), "future_tolerance"),
        text(args.clock.map(|c| c.to_string()), "clock"),
        text(args.rules.as_ref().map(|r| r.display().to_string()), "rules"),
        text(args.nats.clone(), "nats"),
        text(args.nats_replicas.map(|v| v.to_string()), "nats_replicas"),
        text(args.fanout_threads.map(|v| v.to_string()), "fanout_threads"),
        text(
            args.anonymous.and_then(|a| a.to_possible_value()).map(|v| v.get_name().to_owned()),
            "anonymous",
        ),
        text(args.session_hours.map(|v| v.to_string()), "session_hours"),
        text(args.secure_cookie.then(|| "true".into()), "secure_cookie"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The site configuration for `serve` and `config`: the file (`--config`, `YIPING_CONFIG` or
/// ./yiping.toml when it exists), the environment and the flags given.
fn site(args: &ServeArgs) -> anyhow::Result<yiping_server::site::Site> {
    use yiping_server::site;
    let env = |k: &str| std::env::var(k).ok();
    let file = config_file(args.config.clone())?;
    Ok(site::resolve(&site::Layers { file, env: &env, flags: typed_flags(args) })?)
}

/// The configuration file and its text: `named` (`--config`), else `YIPING_CONFIG`, else
/// ./yiping.toml when it exists (None: no file).
fn config_file(named: Option<PathBuf>) -> anyhow::Result<Option<(PathBuf, String)>> {
    use yiping_server::site;
    let named = named.or_else(|| std::env::var_os(site::CONFIG_ENV).map(PathBuf::from));
    Ok(match named {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read the configuration file {}: {e}", path.display()))?;
            Some((path, text))
        }
        None => match std::fs::read_to_string(site::FILE) {
            Ok(text) => Some((PathBuf::from(site::FILE), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => anyhow::bail!("cannot read the configuration file {}: {e}", site::FILE),
        },
    })
}

/// What `yiping serve` runs with, from the site configuration (the alert rules file read, the
/// root region and sections checked against the boundary layers).
fn config_of(site: &yiping_server::site::Site) -> anyhow::Result<yiping_server::Config> {
    let mut rules = load_rules(site.rules.value.as_deref())?;
    let places = places_of(site)?;
    // A section's target from the configuration, unless the rules file sets one for it.
    for s in site.sections.iter().flatten() {
        if let Some(t) = s.target {
            rules.targets.sections.entry(s.id.clone()).or_insert(t);
        }
    }
    Ok(yiping_server::Config {
        places: std::sync::Arc::new(places),
        title: site.title.value.clone(),
        addr: site.addr.value,
        data_dir: site.data.value.clone(),
        simulator: site.simulator.value,
        seed: site.seed.value,
        speed: site.speed.value,
        log: yiping_server::LogOptions {
            snapshot_every: site.snapshot_every.value,
            retain_days: site.retain_days.value,
            future_tolerance_s: site.future_tolerance.value,
        },
        rules,
        access: yiping_server::auth::Access {
            anonymous: site.anonymous.value,
            session: std::time::Duration::from_secs(site.session_hours.value * 3600),
            secure_cookie: site.secure_cookie.value,
        },
        clock: site.clock.value,
        nats: site.nats.value.clone(),
        nats_replicas: site.nats_replicas.value,
        fanout_threads: site.fanout_threads.value,
    })
}

/// The lock that keeps one server per data folder (and imports away from a running server).
fn lock_data(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", data_dir.display()))?;
    let path = data_dir.join("yiping.lock");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(_) => anyhow::bail!(
            "{} is in use by a running yiping server (send events to its /api/v1/events instead)",
            data_dir.display()
        ),
    }
}

fn load_rules(path: Option<&Path>) -> anyhow::Result<yiping_server::alerts::Rules> {
    let Some(path) = path else { return Ok(Default::default()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("the alert rules file {}: {e}", path.display()))?;
    yiping_server::alerts::rules::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("the alert rules file {}: {e}", path.display()))
}

async fn user(action: UserAction) -> anyhow::Result<()> {
    use yiping_server::auth;
    let (data_dir, what, target) = match &action {
        UserAction::Add { data_dir, name, .. } => (data_dir, "user.add", name.clone()),
        UserAction::List { data_dir } => (data_dir, "", String::new()),
        UserAction::Disable { data_dir, name, .. } => (data_dir, "user.disable", name.clone()),
        UserAction::Enable { data_dir, name, .. } => (data_dir, "user.enable", name.clone()),
    };
    let role_of = |role: &str| {
        auth::Role::parse(role).ok_or_else(|| {
            anyhow::anyhow!("--role {role:?}: one of {}", auth::Role::ALL.map(auth::Role::as_str).join(", "))
        })
    };
    let read_password = || -> anyhow::Result<String> {
        let mut password = String::new();
        std::io::stdin().read_line(&mut password)?;
        Ok(password.trim_end_matches(['\r', '\n']).to_owned())
    };
    // Through a cluster's log stream, to every node.
    let change = match &action {
        UserAction::Add { name, role, scope, nats: Some(url), .. } => {
            let u = auth::new_user(name, role_of(role)?, scope.as_deref(), &read_password()?)?;
            let body = serde_json::json!({ "role": u.role, "scope": u.scope });
            Some((url, yiping_server::changes::Change::UserAdd { user: u }, body))
        }
        UserAction::Disable { name, nats: Some(url), .. }
        | UserAction::Enable { name, nats: Some(url), .. } => {
            let disabled = matches!(action, UserAction::Disable { .. });
            let change = yiping_server::changes::Change::UserDisabled { name: name.clone(), disabled };
            Some((url, change, serde_json::json!({})))
        }
        _ => None,
    };
    if let Some((url, change, body)) = change {
        let audit = yiping_server::trail::NewEntry {
            actor: "cli".into(),
            role: "admin".into(),
            action: what.into(),
            target: target.clone(),
            body,
            ..Default::default()
        };
        let changing = yiping_server::changes::Changing { change, audit };
        let seq = yiping_server::cluster::publish_change(url, &changing).await?;
        println!(
            "{what} {target}: sent through the log stream (message {seq}); every node takes it as it applies it"
        );
        return Ok(());
    }
    std::fs::create_dir_all(data_dir)?;
    let trail = yiping_server::trail::Trail::open(data_dir)?;
    let conn = trail.connection();
    if !matches!(action, UserAction::List { .. }) {
        let node: Option<String> =
            conn.query_row("SELECT value FROM meta WHERE key = 'stream_seq'", [], |r| r.get(0)).ok();
        if node.is_some() {
            anyhow::bail!(
                "{} is a node's copy of a NATS log: give --nats URL so that the change goes to every node",
                data_dir.display()
            );
        }
    }
    let mut body = serde_json::json!({});
    match &action {
        UserAction::Add { name, role, scope, .. } => {
            let u = auth::add_user(conn, name, role_of(role)?, scope.as_deref(), &read_password()?)?;
            body = serde_json::json!({ "role": u.role, "scope": u.scope });
            println!(
                "added {} ({}{})",
                u.name,
                u.role.as_str(),
                u.scope.map(|s| format!(", scope {s}")).unwrap_or_default()
            );
        }
        UserAction::List { .. } => {
            for u in auth::list_users(conn)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.name,
                    u.role.as_str(),
                    u.scope.as_deref().unwrap_or("(province)"),
                    if u.disabled { "disabled" } else { "active" },
                    u.created
                );
            }
            return Ok(());
        }
        UserAction::Disable { name, .. } => auth::set_disabled(conn, name, true)?,
        UserAction::Enable { name, .. } => auth::set_disabled(conn, name, false)?,
    }
    cli_audit(data_dir, what, &target, "", body)?;
    if !matches!(action, UserAction::Add { .. }) {
        println!(
            "{what} {}: done",
            match &action {
                UserAction::Disable { name, .. } | UserAction::Enable { name, .. } => name.as_str(),
                _ => "",
            }
        );
    }
    Ok(())
}

fn trail(data_dir: &Path, alert: Option<String>) -> anyhow::Result<()> {
    if !data_dir.join(yiping_server::store::DB_FILE).exists() {
        anyhow::bail!("{} holds no yiping data", data_dir.display());
    }
    let trail = yiping_server::trail::Trail::open(data_dir)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut failed = None;
    trail.scan(&yiping_server::trail::Filter { target: alert, ..Default::default() }, |e| {
        match serde_json::to_writer(&mut out, &e)
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(writeln!(out)?))
        {
            Ok(()) => true,
            Err(err) => {
                failed = Some(err);
                false
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    Ok(())
}

/// On a first start (no users yet), make an `admin` with a random password and say it once.
fn first_admin(data_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let trail = yiping_server::trail::Trail::open(data_dir)?;
    if yiping_server::auth::has_users(trail.connection())? {
        return Ok(());
    }
    let password: String =
        (0..16).map(|_| char::from(b"abcdefghjkmnpqrstuvwxyz23456789"[rand::random_range(0..31)])).collect();
    yiping_server::auth::add_user(
        trail.connection(),
        "admin",
        yiping_server::auth::Role::Admin,
        None,
        &password,
    )?;
    cli_audit(
        data_dir,
        "user.add",
        "admin",
        "first start: the initial administrator",
        serde_json::json!({ "role": "admin" }),
    )?;
    eprintln!(
        "yiping: first start: created user `admin` with password {password}\n        \
         (shown once; add accounts with `yiping user add --name NAME --role duty --data {}`)",
        data_dir.display()
    );
    Ok(())
}

async fn serve(config: yiping_server::Config) -> anyhow::Result<()> {
    let _lock = lock_data(&config.data_dir)?;
    // A new node of a cluster starts from the seed (its users with it), if there is one.
    if let Some(url) = &config.nats {
        yiping_server::seed::fetch_if_new(url, &config.data_dir).await?;
    }
    first_admin(&config.data_dir)?;
    yiping_server::serve(config, None, shutdown_signal()).await
}

fn token(action: TokenAction) -> anyhow::Result<()> {
    use yiping_server::sources::check_source_name;
    let open = |data_dir: &Path| -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        Ok(Store::open(data_dir)?)
    };
    match action {
        TokenAction::Create { source, data_dir } => {
            check_source_name(&source).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            let made = yiping_server::sources::create(&open(&data_dir)?, &source)?;
            cli_audit(&data_dir, "token.create", &source, "", serde_json::json!({ "id": made.id }))?;
            println!("{}", made.token);
        }
        TokenAction::List { data_dir } => print!("{}", yiping_server::sources::listing(&open(&data_dir)?)?),
        TokenAction::Revoke { id, data_dir } => {
            let now = yiping_server::store::unix_now();
            let (source, id) =
                open(&data_dir)?.revoke_token(&id, now)?.map_err(|e| anyhow::anyhow!("--id: {e}"))?;
            cli_audit(&data_dir, "token.revoke", &source, "", serde_json::json!({ "id": id }))?;
            println!("revoked token {id} of {source}");
        }
        TokenAction::Rotate { source, grace_hours, data_dir } => {
            check_source_name(&source).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            let (made, ends) = yiping_server::sources::rotate(&open(&data_dir)?, &source, grace_hours)?;
            let body = serde_json::json!({ "id": made.id, "others_end": ends });
            cli_audit(&data_dir, "token.rotate", &source, "", body)?;
            eprintln!("{source}'s other tokens end at {ends}");
            println!("{}", made.token);
        }
        TokenAction::Limit { source, rate: Rate(rate), data_dir } => {
            check_source_name(&source).map_err(|e| anyhow::anyhow!("--source: {e}"))?;
            open(&data_dir)?.set_source_rate(&source, rate)?;
            cli_audit(&data_dir, "source.rate", &source, "", serde_json::json!({ "rate": rate }))?;
            match rate {
                Some(r) => println!("{source} is limited to {r} events a second"),
                None => println!("{source} has no rate limit"),
            }
        }
    }
    Ok(())
}

/// Record a write made from the command line in the audit trail.
fn cli_audit(
    data_dir: &Path,
    action: &str,
    target: &str,
    comment: &str,
    body: serde_json::Value,
) -> anyhow::Result<()> {
    yiping_server::trail::Trail::open(data_dir)?.append(&yiping_server::trail::NewEntry {
        time: yiping_protocol::instant::Timestamp::now().to_string(),
        actor: "cli".into(),
        role: "admin".into(),
        action: action.into(),
        target: target.into(),
        comment: comment.into(),
        body,
        ..Default::default()
    })?;
    Ok(())
}

fn simulate(seed: u64, count: usize, speed: f64, start: Option<&str>) -> anyhow::Result<()> {
    use time::format_description::well_known::Rfc3339;
    let places = std::sync::Arc::new(configured_places()?);
    // The events from `start` on, one simulated second at a time, until `count` (or the callback
    // says stop); returns the time of the last.
    let run = |start: time::OffsetDateTime, emit: &mut dyn FnMut(Envelope) -> anyhow::Result<()>| {
        let mut sim = yiping_server::simulator::Simulator::new(seed, speed, places.clone(), start);
        let (mut written, mut t) = (0, start);
        while written < count {
            for e in sim.step(t, 1.0) {
                if written == count {
                    break;
                }
                emit(e)?;
                written += 1;
            }
            t += time::Duration::seconds(1);
        }
        anyhow::Ok(t)
    };
    let start = match start {
        Some(s) => {
            time::OffsetDateTime::parse(s, &Rfc3339).map_err(|e| anyhow::anyhow!("--start {s:?}: {e}"))?
        }
        None => {
            // A history that ends now (a server refuses events from the future): find how long
            // `count` events take, and start that long ago.
            let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
            let end = run(now, &mut |_| Ok(()))?;
            now - (end - now)
        }
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    run(start, &mut |mut e| {
        e.source = None;
        serde_json::to_writer(&mut out, &e)?;
        out.write_all(b"\n")?;
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}

/// `--from`: a Beijing date (its midnight) or an instant.
fn parse_from(s: &str) -> anyhow::Result<yiping_protocol::instant::Timestamp> {
    use yiping_protocol::instant::{Date, Timestamp};
    match Date::parse(s) {
        Ok(d) => Ok(d.beijing_start()),
        Err(_) => Timestamp::parse(s)
            .map_err(|e| anyhow::anyhow!("--from {s:?}: neither a date (2024-01-01) nor an instant: {e}")),
    }
}

/// A simulated history from `from` to `to`, one simulated minute at a time, to standard output
/// (NDJSON) or straight into a data folder's log.
fn simulate_history(
    seed: u64,
    speed: f64,
    from: &str,
    to: Option<&str>,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    use yiping_protocol::instant::Timestamp;
    let from = parse_from(from)?;
    let now = Timestamp::now();
    let to = match to {
        None | Some("now") => now,
        Some(s) => Timestamp::parse(s).map_err(|e| anyhow::anyhow!("--to {s:?}: {e}"))?,
    };
    if to <= from {
        anyhow::bail!("--to ({to}) must be after --from ({from})");
    }
    if to.seconds_since(now) > yiping_server::FUTURE_TOLERANCE_S as f64 {
        anyhow::bail!("--to ({to}) is in the future: a server refuses events from the future");
    }
    let places = std::sync::Arc::new(configured_places()?);
    let start = time::OffsetDateTime::from_unix_timestamp(from.unix_s())?;
    let mut sim = yiping_server::simulator::Simulator::new(seed, speed, places.clone(), start);
    let minutes = (to.unix_s() - from.unix_s()) / 60;
    let steps = (0..=minutes).map(|m| start + time::Duration::minutes(m));
    let Some(data_dir) = data_dir else {
        let mut out = BufWriter::new(std::io::stdout().lock());
        for t in steps {
            for mut e in sim.step(t, 60.0) {
                e.source = None;
                serde_json::to_writer(&mut out, &e)?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
        return Ok(());
    };
    let _lock = lock_data(data_dir)?;
    let mut store = Store::open(data_dir)?;
    own_log(&store, data_dir)?;
    store.claim_places(&places).map_err(anyhow::Error::msg)?;
    let received = now.to_string();
    let (mut new, mut dup, mut batch) = (0usize, 0usize, Vec::new());
    let mut flush =
        |store: &mut Store, batch: &mut Vec<yiping_server::store::Located>| -> anyhow::Result<()> {
            for a in store.append(batch, &received)? {
                match a {
                    Appended::New { .. } => new += 1,
                    Appended::Duplicate { .. } => dup += 1,
                }
            }
            batch.clear();
            Ok(())
        };
    let (mut day, mut days) = (from.beijing_date(), 0);
    for t in steps {
        for e in sim.step(t, 60.0) {
            // The simulator's events are checked and placed like any source's.
            let adcode = places.locate(&e).map_err(|err| {
                anyhow::anyhow!(
                    "simulated event {} refused: {} {}: {}",
                    e.id,
                    err.field,
                    err.value,
                    err.message
                )
            })?;
            batch.push(yiping_server::store::Located::new(e, adcode));
        }
        if batch.len() >= 20_000 {
            flush(&mut store, &mut batch)?;
        }
        let today = Timestamp::from_unix_s(t.unix_timestamp()).beijing_date();
        if today != day {
            (day, days) = (today, days + 1);
            if days % 30 == 0 {
                eprintln!("simulate: {day}");
            }
        }
    }
    flush(&mut store, &mut batch)?;
    cli_audit(
        data_dir,
        "import",
        yiping_server::simulator::SOURCE,
        &format!("{new} simulated events from {from} to {to} written, {dup} duplicate"),
        serde_json::json!({ "imported": new, "duplicates": dup, "from": from.to_string(), "to": to.to_string() }),
    )?;
    println!(
        "simulated {new} events from {from} to {to} into {} ({dup} duplicates skipped)",
        data_dir.display()
    );
    Ok(())
}

fn export(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.join(yiping_server::store::DB_FILE).exists() {
        anyhow::bail!("no event log in {}", data_dir.display());
    }
    let store = Store::open(data_dir)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut failed = None;
    store.replay(0, |e| {
        if failed.is_some() {
            return;
        }
        let line = serde_json::json!({
            "gseq": e.gseq, "topic": e.topic, "seq": e.tseq, "adcode": e.adcode, "received": e.received, "event": e.event,
        });
        if let Err(err) = serde_json::to_writer(&mut out, &line).map_err(anyhow::Error::from).and_then(|()| Ok(out.write_all(b"\n")?)) {
            failed = Some(err);
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    Ok(())
}

fn audit(data_dir: &Path, figures: Option<&str>) -> anyhow::Result<()> {
    if !data_dir.join(yiping_server::store::DB_FILE).exists() {
        anyhow::bail!("no event log in {}", data_dir.display());
    }
    let places = std::sync::Arc::new(configured_places()?);
    let (events, regions, diffs) = yiping_server::audit::audit_log(data_dir, places.clone())?;
    if diffs.is_empty() {
        match figures {
            Some(region) => {
                let f = yiping_server::audit::recount_log(data_dir, &places, region)?;
                // Overdue depends on the day: as of today in Beijing, by the one overdue rule.
                let today = yiping_protocol::instant::Timestamp::now().beijing_date();
                let mut v = serde_json::to_value(&f)?;
                v["today"] = serde_json::json!(today);
                v["overdue"] = serde_json::json!({
                    "steps": f.projects.overdue_steps(today),
                    "approval_steps": f.projects.overdue_approval_steps(today),
                    "projects_by_stage": f.projects.overdue_projects(today),
                });
                println!("{v}");
            }
            None => {
                println!(
                    "audit: {events} events, {regions} regions: every figure reconciles with the raw events"
                )
            }
        }
        Ok(())
    } else {
        for d in &diffs {
            println!("{d}");
        }
        anyhow::bail!("{} figures do not reconcile with the raw events", diffs.len())
    }
}

fn parse_instant(s: &str) -> Result<yiping_protocol::instant::Timestamp, String> {
    yiping_protocol::instant::Timestamp::parse(s).map_err(|e| e.to_string())
}

/// Refuse to write into a data folder that is a node's copy of the NATS log stream: what is
/// written there would be on that node only.
fn own_log(store: &Store, data_dir: &Path) -> anyhow::Result<()> {
    match store.stream_position()? {
        Some((epoch, _)) => anyhow::bail!(
            "{} is a copy of the NATS log stream (epoch {epoch}): send the events to a running node \
             (POST /api/v1/events) or publish them on yiping.in.<source>, so that every node has them",
            data_dir.display()
        ),
        None => Ok(()),
    }
}

fn import(file: &Path, source: &str, data_dir: &Path) -> anyhow::Result<()> {
    let _lock = lock_data(data_dir)?;
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        std::fs::File::open(file)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    let places = configured_places()?;
    let (ok, rejected) = yiping_server::ingest::check_lines(
        &text,
        source,
        &places,
        yiping_protocol::instant::Timestamp::now(),
        yiping_server::FUTURE_TOLERANCE_S,
    );
    for r in &rejected {
        eprintln!("{}: {}", file.display(), serde_json::to_string(r)?);
    }
    let mut store = Store::open(data_dir)?;
    own_log(&store, data_dir)?;
    store.claim_places(&places).map_err(anyhow::Error::msg)?;
    let received = yiping_protocol::instant::Timestamp::now().to_string();
    let (mut new, mut dup) = (0usize, 0usize);
    for chunk in ok.chunks(10_000) {
        let events: Vec<_> = chunk.iter().map(|(_, l)| l.clone()).collect();
        for a in store.append(&events, &received)? {
            match a {
                Appended::New { .. } => new += 1,
                Appended::Duplicate { .. } => dup += 1,
            }
        }
    }
    cli_audit(
        data_dir,
        "import",
        source,
        &format!("{new} imported, {dup} duplicate, {} refused, from {}", rejected.len(), file.display()),
        serde_json::json!({ "imported": new, "duplicates": dup, "refused": rejected.len() }),
    )?;
    println!("imported {new} events, {dup} duplicates skipped, {} lines refused", rejected.len());
    if rejected.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} lines were refused (listed above)", rejected.len())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
