//! Storylines: ordered lists of bookmarked views for a meeting, kept in the same SQLite file as
//! the audit trail, and the HTTP answers that list, change, export and import them.
//!
//! Every change is written in one transaction with its audit entry (`storyline.create`,
//! `.update`, `.delete`, `.import`), so what was changed and who changed it cannot part.
//! Presenters and admins only: the notes are the presenter's.
//!
//! A storyline travels as a file: `GET /api/v1/storylines/{id}/file?format=toml|json` and
//! `POST /api/v1/storylines/import` (the body TOML or JSON, by its Content-Type); the file holds
//! the name and the steps, and an import makes a new storyline of them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OptionalExtension, params};
use yiping_protocol::api::Role;
use yiping_protocol::present::{Step, Storyline};

use crate::AppState;
use crate::auth::Caller;
use crate::changes::{Change, Changed};
use crate::error::AppError;
use crate::sync::OrPoisoned;
use crate::trail::NewEntry;

/// Create the table (with the trail's).
pub fn create_tables(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS storylines (
             id INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             steps TEXT NOT NULL,
             changed_by TEXT NOT NULL,
             changed TEXT NOT NULL
         );",
    )
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(u64, String, String, String, String)> {
    let id: i64 = r.get(0)?;
    Ok((u64::try_from(id).unwrap_or(0), r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// An id as SQLite stores it.
fn key(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn from_row(
    (id, name, steps, changed_by, changed): (u64, String, String, String, String),
) -> Result<Storyline, AppError> {
    let steps: Vec<Step> = serde_json::from_str(&steps)
        .map_err(|e| AppError::Internal(format!("storyline {id}: stored steps unreadable: {e}")))?;
    Ok(Storyline { id, name, steps, changed_by, changed })
}

fn sql(e: rusqlite::Error) -> AppError {
    AppError::Internal(format!("storylines: {e}"))
}

/// Every storyline, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<Storyline>, AppError> {
    let mut st = conn
        .prepare("SELECT id, name, steps, changed_by, changed FROM storylines ORDER BY id")
        .map_err(sql)?;
    let rows = st.query_map([], row).map_err(sql)?.collect::<Result<Vec<_>, _>>().map_err(sql)?;
    rows.into_iter().map(from_row).collect()
}

/// One storyline.
pub fn get(conn: &Connection, id: u64) -> Result<Storyline, AppError> {
    conn.query_row(
        "SELECT id, name, steps, changed_by, changed FROM storylines WHERE id = ?1",
        [key(id)],
        row,
    )
    .optional()
    .map_err(sql)?
    .map(from_row)
    .unwrap_or_else(|| Err(AppError::NotFound(format!("storyline {id}"))))
}

/// Who writes, for the trail.
struct Writer<'a> {
    name: &'a str,
    role: &'a str,
    addr: String,
}

/// Write `s` (a new one when `id` is None, else in place of `id`; None for `s`: delete) through
/// [`crate::changes`] (with the log on NATS, on every node). Returns the storyline as stored.
async fn write(
    state: &AppState,
    w: &Writer<'_>,
    action: &'static str,
    id: Option<u64>,
    s: Option<&Storyline>,
) -> Result<Option<Storyline>, AppError> {
    if let Some(s) = s {
        s.check().map_err(AppError::BadRequest)?;
    }
    let change = Change::Storyline { action: action.to_owned(), id, storyline: s.cloned() };
    let by = NewEntry {
        actor: w.name.to_owned(),
        role: w.role.to_owned(),
        addr: w.addr.clone(),
        ..Default::default()
    };
    match state.change(change, by).await? {
        Changed::Storyline(s) => Ok(s),
        other => Err(AppError::Internal(format!("storyline {action}: {other:?}"))),
    }
}

/// Write a storyline (see [`write`]) with its audit entry `by` (who and from where), in one
/// transaction, as of `time`; `stream_seq`: the log stream's message it came in, noted in the
/// same transaction. Returns the storyline as stored.
pub(crate) fn apply(
    state: &AppState,
    by: &NewEntry,
    action: &str,
    id: Option<u64>,
    s: Option<&Storyline>,
    time: yiping_protocol::instant::Timestamp,
    stream_seq: Option<u64>,
) -> Result<Option<Storyline>, AppError> {
    if let Some(s) = s {
        s.check().map_err(AppError::BadRequest)?;
    }
    let trail = state.trail.lock().or_poisoned();
    let conn = trail.connection();
    // Immediate: the write lock is taken (or waited for) first. A transaction that read first
    // could not take it once another connection (the ingest writer's) had committed meanwhile:
    // SQLite answers "database is locked" at once rather than wait.
    let tx =
        rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
    let now = time.to_string();
    let before = id.map(|id| get(&tx, id)).transpose()?;
    let id = match (id, s) {
        (None, Some(s)) => {
            tx.execute(
                "INSERT INTO storylines (name, steps, changed_by, changed) VALUES (?1, ?2, ?3, ?4)",
                params![s.name.trim(), serde_json::to_string(&s.steps).unwrap_or_default(), by.actor, now],
            )
            .map_err(sql)?;
            u64::try_from(tx.last_insert_rowid()).unwrap_or(0)
        }
        (Some(id), Some(s)) => {
            tx.execute(
                "UPDATE storylines SET name = ?1, steps = ?2, changed_by = ?3, changed = ?4 WHERE id = ?5",
                params![
                    s.name.trim(),
                    serde_json::to_string(&s.steps).unwrap_or_default(),
                    by.actor,
                    now,
                    key(id)
                ],
            )
            .map_err(sql)?;
            id
        }
        (Some(id), None) => {
            tx.execute("DELETE FROM storylines WHERE id = ?1", [key(id)]).map_err(sql)?;
            id
        }
        (None, None) => return Ok(None),
    };
    let after = s.map(|_| get(&tx, id)).transpose()?;
    let body = serde_json::json!({
        "name": after.as_ref().or(before.as_ref()).map(|s| s.name.clone()),
        "steps": after.as_ref().map(|s| s.steps.iter().map(|st| st.title.clone()).collect::<Vec<_>>()),
        "before": before.as_ref().map(|s| s.steps.iter().map(|st| st.title.clone()).collect::<Vec<_>>()),
    });
    crate::trail::append_in(
        &tx,
        &NewEntry {
            time: now,
            actor: by.actor.clone(),
            role: by.role.clone(),
            addr: by.addr.clone(),
            action: action.to_owned(),
            target: format!("storyline:{id}"),
            comment: String::new(),
            body,
        },
    )
    .map_err(sql)?;
    if let Some(seq) = stream_seq {
        crate::trail::note_position(&tx, seq).map_err(sql)?;
    }
    tx.commit().map_err(sql)?;
    Ok(after)
}

fn presenter<'a>(caller: &'a Caller, what: &str) -> Result<Writer<'a>, AppError> {
    let u = caller.with_role(&[Role::Presenter, Role::Admin], what)?;
    Ok(Writer { name: &u.name, role: u.role.as_str(), addr: caller.ip() })
}

fn json_body(
    body: Result<Json<Storyline>, axum::extract::rejection::JsonRejection>,
) -> Result<Storyline, AppError> {
    body.map(|Json(s)| s).map_err(|e| AppError::BadRequest(format!("a storyline as JSON: {}", e.body_text())))
}

/// `GET /api/v1/storylines`.
#[utoipa::path(
    get,
    path = "/api/v1/storylines",
    tag = "presenting",
    security(("session" = [])),
    responses((status = 200, description = "Every storyline.", body = Vec<Storyline>), crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn http_list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<Storyline>>, AppError> {
    presenter(&caller, "storylines")?;
    let trail = state.trail.lock().or_poisoned();
    list(trail.connection()).map(Json)
}

/// `POST /api/v1/storylines`: a new storyline (201).
#[utoipa::path(
    post,
    path = "/api/v1/storylines",
    tag = "presenting",
    security(("session" = [])),
    request_body(content = Storyline, example = json!(crate::openapi::storyline_example())),
    responses((status = 201, description = "The new storyline.", body = Storyline), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn http_create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Json<Storyline>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Storyline>), AppError> {
    let w = presenter(&caller, "changing storylines")?;
    let s = json_body(body)?;
    let made = write(&state, &w, "storyline.create", None, Some(&s)).await?;
    made.map(|s| (StatusCode::CREATED, Json(s))).ok_or_else(|| AppError::Internal("not stored".into()))
}

/// `GET /api/v1/storylines/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/storylines/{id}",
    tag = "presenting",
    security(("session" = [])),
    params(("id" = u64, Path, description = "The storyline's id.")),
    responses((status = 200, description = "The storyline.", body = Storyline), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn http_get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<u64>,
) -> Result<Json<Storyline>, AppError> {
    presenter(&caller, "storylines")?;
    let trail = state.trail.lock().or_poisoned();
    get(trail.connection(), id).map(Json)
}

/// `PUT /api/v1/storylines/{id}`: rename, reorder, add, edit or remove steps (the whole
/// storyline as it should be).
#[utoipa::path(
    put,
    path = "/api/v1/storylines/{id}",
    tag = "presenting",
    security(("session" = [])),
    params(("id" = u64, Path, description = "The storyline's id.")),
    request_body(content = Storyline, description = "The whole storyline as it should be.", example = json!(crate::openapi::storyline_example())),
    responses((status = 200, description = "The storyline as stored.", body = Storyline), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn http_put(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<u64>,
    body: Result<Json<Storyline>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Storyline>, AppError> {
    let w = presenter(&caller, "changing storylines")?;
    let s = json_body(body)?;
    let made = write(&state, &w, "storyline.update", Some(id), Some(&s)).await?;
    made.map(Json).ok_or_else(|| AppError::Internal("not stored".into()))
}

/// `DELETE /api/v1/storylines/{id}` (204).
#[utoipa::path(
    delete,
    path = "/api/v1/storylines/{id}",
    tag = "presenting",
    security(("session" = [])),
    params(("id" = u64, Path, description = "The storyline's id.")),
    responses((status = 204, description = "Deleted."), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound)
)]
pub async fn http_delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<u64>,
) -> Result<StatusCode, AppError> {
    let w = presenter(&caller, "changing storylines")?;
    write(&state, &w, "storyline.delete", Some(id), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The file's format.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FileQuery {
    /// `toml` (the default) or `json`.
    format: Option<String>,
}

/// What a storyline file holds: the name and the steps (no id, no who or when).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = StorylineFile)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    steps: Vec<Step>,
}

/// The file of a storyline, as TOML or JSON.
pub fn to_file(s: &Storyline, toml: bool) -> String {
    let f = File { name: s.name.clone(), steps: s.steps.clone() };
    if toml {
        toml::to_string(&f).unwrap_or_default()
    } else {
        serde_json::to_string_pretty(&f).unwrap_or_default()
    }
}

/// Read a storyline file (TOML or JSON); the error names line, column and what is wrong.
pub fn from_file(text: &str, toml: bool) -> Result<Storyline, String> {
    let f: File = if toml {
        toml::from_str(text).map_err(|e| {
            let at = e.span().map(|r| {
                let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: ")
            });
            format!("{}{}", at.unwrap_or_default(), e.message())
        })?
    } else {
        serde_json::from_str(text).map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?
    };
    let s =
        Storyline { id: 0, name: f.name, steps: f.steps, changed_by: String::new(), changed: String::new() };
    s.check()?;
    Ok(s)
}

/// `GET /api/v1/storylines/{id}/file?format=toml|json`: the storyline as a file to carry.
#[utoipa::path(
    get,
    path = "/api/v1/storylines/{id}/file",
    tag = "presenting",
    security(("session" = [])),
    params(("id" = u64, Path, description = "The storyline's id."), FileQuery),
    responses(
        (status = 200, description = "The storyline as a file to carry (name and steps).", content(
            (String = "application/toml"),
            (File = "application/json")
        )),
        crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::NotFound
    )
)]
pub async fn http_file(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<u64>,
    Query(q): Query<FileQuery>,
) -> Result<Response, AppError> {
    presenter(&caller, "storylines")?;
    let toml = match q.format.as_deref() {
        None | Some("toml") => true,
        Some("json") => false,
        Some(other) => return Err(AppError::BadRequest(format!("format {other:?}: toml or json"))),
    };
    let s = {
        let trail = state.trail.lock().or_poisoned();
        get(trail.connection(), id)?
    };
    let (ext, mime) = if toml { ("toml", "application/toml") } else { ("json", "application/json") };
    let mut resp = to_file(&s, toml).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"storyline-{id}.{ext}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `POST /api/v1/storylines/import`: a storyline file (Content-Type `application/toml` or
/// `application/json`) becomes a new storyline (201).
#[utoipa::path(
    post,
    path = "/api/v1/storylines/import",
    tag = "presenting",
    security(("session" = [])),
    request_body(description = "A storyline file, as `GET /api/v1/storylines/{id}/file` gives.", content(
        (String = "application/toml"),
        (File = "application/json")
    )),
    responses((status = 201, description = "The new storyline.", body = Storyline), crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden)
)]
pub async fn http_import(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: String,
) -> Result<(StatusCode, Json<Storyline>), AppError> {
    let w = presenter(&caller, "importing storylines")?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Only these (a form cannot send them without a preflight).
    let toml = if ct.starts_with("application/toml") {
        true
    } else if ct.starts_with("application/json") {
        false
    } else {
        return Err(AppError::BadRequest(format!(
            "Content-Type {ct:?}: send the file as application/toml or application/json"
        )));
    };
    let s = from_file(&body, toml).map_err(|e| AppError::BadRequest(format!("storyline file: {e}")))?;
    let made = write(&state, &w, "storyline.import", None, Some(&s)).await?;
    made.map(|s| (StatusCode::CREATED, Json(s))).ok_or_else(|| AppError::Internal("not stored".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiping_protocol::present::View;

    fn sample() -> Storyline {
        Storyline {
            id: 3,
            name: "防汛会商".into(),
            steps: vec![
                Step {
                    title: "长江断面".into(),
                    note: "先看达标率".into(),
                    view: View { screen: "yangtze".into(), ..View::default() },
                },
                Step {
                    title: "黄石 · 上周".into(),
                    note: String::new(),
                    view: View {
                        screen: "projects".into(),
                        region: Some("420200".into()),
                        at: Some("2026-11-20T09:00:00+08:00".into()),
                        speed: 60.0,
                        ..View::default()
                    },
                },
            ],
            changed_by: "zhang".into(),
            changed: "2026-12-04T00:00:00Z".into(),
        }
    }

    #[test]
    fn files_round_trip_in_both_formats_without_ids_or_authors() {
        for toml in [true, false] {
            let text = to_file(&sample(), toml);
            assert!(!text.contains("zhang"), "{text}");
            let back = from_file(&text, toml).expect("reads back");
            assert_eq!(back.steps, sample().steps);
            assert_eq!((back.id, back.name.as_str()), (0, "防汛会商"));
        }
    }

    #[test]
    fn a_bad_file_is_refused_with_its_place() {
        let e = from_file("name = \"x\"\n[[steps]]\ntitle = \"a\"\nview = { screen = \"nowhere\" }\n", true)
            .expect_err("bad screen");
        assert_eq!(
            e,
            "step 1: view.screen \"nowhere\": use one of overview, yangtze, rivers, projects, poverty"
        );
        let e = from_file("name = \"x\"\ncolour = 3\n", true).expect_err("unknown key");
        assert!(e.starts_with("line 2: unknown field `colour`"), "{e}");
        let e = from_file("{\"name\": \"x\",\n \"steps\": [1]}", false).expect_err("bad step");
        assert!(e.starts_with("line 2, column"), "{e}");
    }
}
