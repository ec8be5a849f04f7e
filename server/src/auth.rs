//! Access (DESIGN §6): users with roles and an optional region scope, argon2 password hashes,
//! sessions in HttpOnly SameSite cookies, login rate limiting, and the policy every handler and
//! the websocket ask.
//!
//! - Roles: [`Role`]. Everybody who may read may read everything in their scope; alert actions
//!   need a duty officer or an admin (a project manager may act on project alerts); the audit
//!   trail is for duty officers (their alerts) and admins; user lists for admins.
//! - Scope: an adcode prefix (`4202` for 黄石; `420200` is taken to mean the same). A scoped user
//!   sees the regions, entities and alerts under the prefix only, on REST and `/ws` alike; the
//!   province-wide overview topic is refused to them.
//! - Anonymous reading: [`Anonymous`] (`local` by default: clients on the loopback interface may
//!   read without logging in; every write needs a login whatever the setting). `local` trusts the
//!   TCP peer address: behind a reverse proxy on the same machine use `off`.
//! - Passwords: argon2id (the `argon2` crate's defaults) with a random salt; sessions are random
//!   256-bit tokens stored hashed (SHA-256), like ingest tokens.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use rusqlite::{Connection, OptionalExtension, params};

use crate::AppState;
use crate::error::AppError;
use crate::now_rfc3339;
use crate::store::token_hash;
use crate::sync::OrPoisoned;

/// Name of the session cookie.
pub const COOKIE: &str = "yiping_session";
/// Failed logins allowed per user name within [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: u32 = 5;
/// Failed logins allowed per client address within [`LOGIN_WINDOW`] (several people may share
/// one address behind a gateway, so more than per name).
pub const LOGIN_FAILURES_PER_ADDRESS: u32 = 20;
/// The window of [`LOGIN_FAILURES`].
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

pub use yiping_protocol::api::{Role, User, in_scope};

/// Turn a scope as typed (`420200`, `4202`, `420000`) into its prefix (`4202`, `4202`, `42`).
pub fn normalise_scope(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) || !s.len().is_multiple_of(2) {
        return Err(format!(
            "scope {s:?} is not an adcode or adcode prefix (2, 4 or 6 digits, e.g. 420200 for 黄石)"
        ));
    }
    let mut p = s;
    while p.len() > 2 && p.ends_with("00") {
        p = &p[..p.len() - 2];
    }
    Ok(p.to_owned())
}

/// Who may read without logging in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Anonymous {
    /// Nobody: every request needs a login.
    Off,
    /// Clients connecting from this machine (loopback), e.g. the wall's own browser.
    Local,
    /// Anybody who can reach the server.
    All,
}

/// The access settings of a running server.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// Anonymous reading.
    pub anonymous: Anonymous,
    /// How long a session lasts.
    pub session: Duration,
    /// Mark the cookie `Secure` (when the server is reached over HTTPS).
    pub secure_cookie: bool,
}

impl Default for Access {
    fn default() -> Self {
        Access { anonymous: Anonymous::Local, session: Duration::from_secs(12 * 3600), secure_cookie: false }
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("user database: {0}")]
    Db(#[from] rusqlite::Error),
}

pub(crate) fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS users (
             name TEXT PRIMARY KEY,
             hash TEXT NOT NULL,
             role TEXT NOT NULL,
             scope TEXT,
             disabled INTEGER NOT NULL DEFAULT 0,
             created TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS sessions (
             hash TEXT PRIMARY KEY,
             user TEXT NOT NULL REFERENCES users (name),
             created TEXT NOT NULL,
             expires INTEGER NOT NULL,
             addr TEXT NOT NULL
         );",
    )
}

/// Hash a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AuthError::Invalid(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(format!("cannot hash the password: {e}")))
}

/// Check a password against a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn check_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && name != "system"
        && name != "cli";
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "user name {name:?}: use 1-64 letters, digits, '_', '-' or '.' (not `system` or `cli`)"
        )))
    }
}

fn row_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    let role: String = r.get(1)?;
    Ok((
        User {
            name: r.get(0)?,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            scope: r.get(2)?,
            disabled: r.get::<_, i64>(3)? != 0,
            created: r.get(4)?,
        },
        r.get(5)?,
    ))
}

/// A user to be added: checked, the password hashed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// The password's argon2id hash (PHC string).
    pub hash: String,
    /// What they may do.
    pub role: Role,
    /// Their region, if not the whole province.
    pub scope: Option<String>,
}

/// Check a new user's name, password and scope, and hash the password.
pub fn new_user(name: &str, role: Role, scope: Option<&str>, password: &str) -> Result<NewUser, AuthError> {
    check_name(name)?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(AuthError::Invalid(format!("the password must have at least {MIN_PASSWORD} characters")));
    }
    let scope = scope.map(normalise_scope).transpose().map_err(AuthError::Invalid)?;
    Ok(NewUser { name: name.to_owned(), hash: hash_password(password)?, role, scope })
}

/// Store a new user, made at `created`; refused if the name is taken.
pub fn insert_user(conn: &Connection, u: &NewUser, created: &str) -> Result<User, AuthError> {
    if find_user(conn, &u.name)?.is_some() {
        return Err(AuthError::Invalid(format!("user {:?} exists already", u.name)));
    }
    conn.execute(
        "INSERT INTO users (name, hash, role, scope, disabled, created) VALUES (?1, ?2, ?3, ?4, 0, ?5)",
        params![u.name, u.hash, u.role.as_str(), u.scope, created],
    )?;
    Ok(User {
        name: u.name.clone(),
        role: u.role,
        scope: u.scope.clone(),
        disabled: false,
        created: created.to_owned(),
    })
}

/// Add a user.
pub fn add_user(
    conn: &Connection,
    name: &str,
    role: Role,
    scope: Option<&str>,
    password: &str,
) -> Result<User, AuthError> {
    check_name(name)?;
    if find_user(conn, name)?.is_some() {
        return Err(AuthError::Invalid(format!("user {name:?} exists already")));
    }
    insert_user(conn, &new_user(name, role, scope, password)?, &now_rfc3339())
}

/// A user and their password hash.
pub fn find_user(conn: &Connection, name: &str) -> Result<Option<(User, String)>, AuthError> {
    Ok(conn
        .query_row(
            "SELECT name, role, scope, disabled, created, hash FROM users WHERE name = ?1",
            [name],
            row_user,
        )
        .optional()?)
}

/// Every user, by name.
pub fn list_users(conn: &Connection) -> Result<Vec<User>, AuthError> {
    let mut st =
        conn.prepare("SELECT name, role, scope, disabled, created, hash FROM users ORDER BY name")?;
    let users = st.query_map([], row_user)?.map(|r| r.map(|(u, _)| u)).collect::<Result<_, _>>()?;
    Ok(users)
}

/// Disable (or enable again) a user; disabling ends their sessions.
pub fn set_disabled(conn: &Connection, name: &str, disabled: bool) -> Result<(), AuthError> {
    let n =
        conn.execute("UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, i64::from(disabled)])?;
    if n == 0 {
        return Err(AuthError::Invalid(format!("there is no user {name:?}")));
    }
    if disabled {
        conn.execute("DELETE FROM sessions WHERE user = ?1", [name])?;
    }
    Ok(())
}

/// Whether any user exists.
pub fn has_users(conn: &Connection) -> Result<bool, AuthError> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get::<_, bool>(0))?)
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A new session token (256 random bits, hex) and its hash, the only form that is stored.
pub fn new_session_token() -> (String, String) {
    let token = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect::<String>();
    let hash = token_hash(&token);
    (token, hash)
}

/// When a session of `ttl` starting now ends (unix s).
pub fn session_expires(ttl: Duration) -> i64 {
    unix_now() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2)
}

/// Start a session for `user`; returns the token (only its hash is stored).
pub fn create_session(conn: &Connection, user: &str, addr: &str, ttl: Duration) -> Result<String, AuthError> {
    let (token, hash) = new_session_token();
    store_session(conn, &hash, user, &now_rfc3339(), session_expires(ttl), addr)?;
    Ok(token)
}

/// Store a session by its token's hash (again: no change); sessions that have ended are
/// dropped meanwhile.
pub fn store_session(
    conn: &Connection,
    hash: &str,
    user: &str,
    created: &str,
    expires: i64,
    addr: &str,
) -> Result<(), AuthError> {
    conn.execute("DELETE FROM sessions WHERE expires < ?1", [unix_now()])?;
    conn.execute(
        "INSERT OR IGNORE INTO sessions (hash, user, created, expires, addr) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, user, created, expires, addr],
    )?;
    Ok(())
}

/// The user of a live session.
pub fn session_user(conn: &Connection, token: &str) -> Result<Option<User>, AuthError> {
    Ok(conn
        .query_row(
            "SELECT u.name, u.role, u.scope, u.disabled, u.created, u.hash FROM sessions s
             JOIN users u ON u.name = s.user
             WHERE s.hash = ?1 AND s.expires >= ?2 AND u.disabled = 0",
            params![token_hash(token), unix_now()],
            row_user,
        )
        .optional()?
        .map(|(u, _)| u))
}

/// End a session.
pub fn end_session(conn: &Connection, token: &str) -> Result<(), AuthError> {
    end_session_hashed(conn, &token_hash(token))
}

/// End the session whose token has this hash.
pub fn end_session_hashed(conn: &Connection, hash: &str) -> Result<(), AuthError> {
    conn.execute("DELETE FROM sessions WHERE hash = ?1", [hash])?;
    Ok(())
}

/// Counts failed logins per key (`ip:…`, `user:…`) in fixed windows of [`LOGIN_WINDOW`].
#[derive(Debug, Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Limiter {
    /// How long `key` must wait before trying again, if it used up its `max` failures.
    pub fn blocked(&self, key: &str, max: u32, now: Instant) -> Option<Duration> {
        let map = self.failures.lock().or_poisoned();
        let (n, start) = map.get(key)?;
        let left = LOGIN_WINDOW.checked_sub(now.duration_since(*start)).filter(|d| !d.is_zero())?;
        (*n >= max).then_some(left)
    }

    /// Count a failure for `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().or_poisoned();
        if map.len() > 10_000 {
            map.retain(|_, (_, start)| now.duration_since(*start) < LOGIN_WINDOW);
        }
        let e = map.entry(key.to_owned()).or_insert((0, now));
        if now.duration_since(e.1) >= LOGIN_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
    }

    /// Forget `key`'s failures (after a successful login).
    pub fn clear(&self, key: &str) {
        self.failures.lock().or_poisoned().remove(key);
    }
}

/// Who is asking: a logged-in user or nobody, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The session's user.
    pub user: Option<User>,
    /// The client's address.
    pub addr: SocketAddr,
    /// Anonymous reading is allowed for this client.
    pub anonymous_ok: bool,
}

impl Caller {
    /// The client's IP, as text.
    pub fn ip(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The user's scope (none: the whole province).
    pub fn scope(&self) -> Option<&str> {
        self.user.as_ref().and_then(|u| u.scope.as_deref())
    }

    /// May this caller read? Refuses with 401 otherwise.
    pub fn read(&self) -> Result<(), AppError> {
        if self.user.is_some() || self.anonymous_ok {
            Ok(())
        } else {
            Err(AppError::Unauthorized("log in first (POST /api/v1/login)".into()))
        }
    }

    /// May this caller read about `adcode`? 401 without a login, 403 outside the scope.
    pub fn read_region(&self, adcode: &str) -> Result<(), AppError> {
        self.read()?;
        match self.scope() {
            Some(s) if !adcode.starts_with(s) => {
                Err(AppError::Forbidden(format!("region {adcode} is outside your scope ({s})")))
            }
            _ => Ok(()),
        }
    }

    /// The region this caller's wall shows (the root, or their scope's region), once they may
    /// read it: 401 without a login.
    pub fn shown_region(&self, places: &crate::places::Places) -> Result<String, AppError> {
        let region = places.scope_region(self.scope());
        self.read_region(&region)?;
        Ok(region)
    }

    /// The logged-in user, or 401.
    pub fn user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or_else(|| AppError::Unauthorized("log in first (POST /api/v1/login)".into()))
    }

    /// The logged-in user if they have one of `roles`; 401 without a login, 403 with another role.
    pub fn with_role(&self, roles: &[Role], what: &str) -> Result<&User, AppError> {
        let u = self.user()?;
        if roles.contains(&u.role) {
            Ok(u)
        } else {
            Err(AppError::Forbidden(format!(
                "{what} needs the role {}; you are {}",
                names(roles),
                u.role.as_str()
            )))
        }
    }
}

fn names(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
}

/// The session token of a request, from its cookie.
pub fn cookie_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|kv| {
            let (k, val) = kv.trim().split_once('=')?;
            (k == COOKIE && !val.is_empty()).then(|| val.to_owned())
        })
    })
}

fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let user = match cookie_token(&parts.headers) {
            Some(token) => {
                let trail = state.trail.lock().or_poisoned();
                session_user(&trail.conn, &token).map_err(|e| AppError::Internal(e.to_string()))?
            }
            None => None,
        };
        let anonymous_ok = match state.access.anonymous {
            Anonymous::Off => false,
            Anonymous::Local => is_local(addr.ip()),
            Anonymous::All => true,
        };
        Ok(Caller { user, addr, anonymous_ok })
    }
}

/// The `Set-Cookie` value for a new session (or, with `None`, one that removes it).
pub fn session_cookie(token: Option<&str>, access: &Access) -> String {
    let secure = if access.secure_cookie { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            access.session.as_secs()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_normalise_to_prefixes_and_contain_their_counties() {
        assert_eq!(normalise_scope("420200").as_deref(), Ok("4202"));
        assert_eq!(normalise_scope("4202").as_deref(), Ok("4202"));
        assert_eq!(normalise_scope("420000").as_deref(), Ok("42"));
        assert_eq!(normalise_scope("420102").as_deref(), Ok("420102"));
        assert!(normalise_scope("42020").is_err());
        assert!(normalise_scope("hs").is_err());
        assert!(in_scope(Some("4202"), "420281"));
        assert!(!in_scope(Some("4202"), "420100"));
        assert!(!in_scope(Some("4202"), "420000"), "a prefecture scope does not see the province");
        assert!(in_scope(None, "420000"));
    }

    #[test]
    fn passwords_are_hashed_with_salt_and_verify() {
        let a = hash_password("correct horse").expect("hashes");
        let b = hash_password("correct horse").expect("hashes");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct hors", &a));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn users_sessions_and_disabling() {
        let dir = crate::store::tests::tempdir();
        let t = crate::trail::Trail::open(&dir).expect("opens");
        assert!(!has_users(&t.conn).expect("reads"));
        let u = add_user(&t.conn, "hs_duty", Role::Duty, Some("420200"), "s3cret-pass").expect("adds");
        assert_eq!(u.scope.as_deref(), Some("4202"));
        assert!(add_user(&t.conn, "hs_duty", Role::Admin, None, "another-pass").is_err(), "names are unique");
        assert!(add_user(&t.conn, "short", Role::Admin, None, "1234567").is_err(), "8 characters at least");
        assert!(add_user(&t.conn, "system", Role::Admin, None, "long-enough").is_err(), "reserved name");
        let token = create_session(&t.conn, "hs_duty", "127.0.0.1", Duration::from_secs(60)).expect("starts");
        assert_eq!(session_user(&t.conn, &token).expect("reads").map(|u| u.name), Some("hs_duty".into()));
        assert_eq!(session_user(&t.conn, "forged").expect("reads"), None);
        set_disabled(&t.conn, "hs_duty", true).expect("disables");
        assert_eq!(session_user(&t.conn, &token).expect("reads"), None, "disabling ends sessions");
        let expired = create_session(&t.conn, "hs_duty", "127.0.0.1", Duration::ZERO).expect("starts");
        set_disabled(&t.conn, "hs_duty", false).expect("enables");
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(session_user(&t.conn, &expired).expect("reads"), None, "expired");
        assert_eq!(list_users(&t.conn).expect("lists").len(), 1);
    }

    #[test]
    fn the_limiter_blocks_after_five_failures_for_the_rest_of_the_window() {
        let l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..LOGIN_FAILURES - 1 {
            l.fail("ip:10.0.0.9", t0);
        }
        assert_eq!(l.blocked("ip:10.0.0.9", LOGIN_FAILURES, t0), None);
        l.fail("ip:10.0.0.9", t0);
        let wait = l.blocked("ip:10.0.0.9", LOGIN_FAILURES, t0 + Duration::from_secs(60)).expect("blocked");
        assert_eq!(wait, LOGIN_WINDOW - Duration::from_secs(60));
        assert_eq!(l.blocked("ip:10.0.0.9", LOGIN_FAILURES_PER_ADDRESS, t0), None, "a higher limit");
        assert_eq!(l.blocked("ip:10.0.0.8", LOGIN_FAILURES, t0), None, "other clients are not blocked");
        assert_eq!(l.blocked("ip:10.0.0.9", LOGIN_FAILURES, t0 + LOGIN_WINDOW), None, "the window ends");
        l.clear("ip:10.0.0.9");
        assert_eq!(l.blocked("ip:10.0.0.9", LOGIN_FAILURES, t0), None);
    }
}
