//! Export what a wall shows: a PNG at the wall's native resolution, or a PDF with one page per
//! view (a storyline), made by the server with a headless Chromium driven over the DevTools
//! protocol (`chromiumoxide`).
//!
//! **Why a browser on the server.** The export must equal the wall, canvases and Chinese text
//! included, at the wall's own resolution (7680×2160 and more) whatever device asks for it: a
//! tablet cannot render a 16-megapixel page, and DOM-to-image libraries re-implement CSS and
//! differ from the browser in the pixels. The same engine as the wall's browser, rendering the
//! same app from this server, gives the same pixels; fonts are the machine's (fonts-noto-cjk),
//! so nothing is fetched from outside (intranets have no internet).
//!
//! **How.** For every export a fresh headless Chromium is started with its own empty profile
//! and a viewport of the requested size (device scale 1), and stopped after it. The views are
//! shown on a transient wall of their own (`export-…`, the presenting machinery of
//! [`crate::present`]): the page opens `/?wall=export-…` with the requester's own session
//! cookie (so it shows exactly what the requester may see), follows each view set on that wall,
//! and is captured once it shows the view, is connected, its map is drawn, and no request has
//! been made for a second. A PDF is then printed from a page of those images, each with its
//! title, what it shows and the export time above it (`@page` sized to the image; the titles also
//! form the PDF's outline). One export runs at a time (a second gets 503).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::network::CookieParam;
use chromiumoxide::cdp::browser_protocol::page::{CaptureScreenshotFormat, PrintToPdfParams};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use futures_util::StreamExt;
use serde::Deserialize;
use yiping_protocol::api::Role;
use yiping_protocol::present::{Step, View};

use crate::AppState;
use crate::auth::Caller;
use crate::error::AppError;
use crate::sync::OrPoisoned;
use crate::trail::NewEntry;

/// The names of the transient walls exports are shown on.
pub const WALL_PREFIX: &str = "export-";

/// The largest export, CSS pixels each way.
pub const MAX_SIDE: u32 = 16_384;
/// The largest export's area, pixels (a 7680×4320 wall).
pub const MAX_AREA: u64 = 7680 * 4320;
/// The most views in one PDF.
pub const MAX_PAGES: usize = 50;
/// The most pixels in one PDF (all its pages).
pub const MAX_PDF_PIXELS: u64 = 20 * 7680 * 2160;
/// The longest an export may take, all views together.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a view may take to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(45);

/// What to export (`POST /api/v1/export`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `png` (one view) or `pdf` (one page per view).
    pub format: String,
    /// The wall's size in CSS pixels (default 1920×1080).
    #[serde(default)]
    pub size: Option<[u32; 2]>,
    /// The views, with their titles.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Or a stored storyline's steps.
    #[serde(default)]
    pub storyline: Option<u64>,
}

/// The Chromium to drive: `YIPING_CHROMIUM`, else the first of the usual names on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("YIPING_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Flags for a quiet headless Chromium on a closed network: no background connections, no
/// first-run, one device pixel per CSS pixel.
const FLAGS: [&str; 10] = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--force-device-scale-factor=1",
    "--force-color-profile=srgb",
    "--hide-scrollbars",
];

/// A running headless Chromium, stopped (and its profile removed) when dropped.
struct Headless {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

impl Drop for Headless {
    /// Also when the request is abandoned: chromiumoxide kills the browser with its `Browser`,
    /// and the profile (which held the requester's session cookie) is removed here.
    fn drop(&mut self) {
        self.handler.abort();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Forgets a transient wall however its export ends.
struct Transient<'a>(&'a AppState, String);

impl Drop for Transient<'_> {
    fn drop(&mut self) {
        self.0.walls.forget(&self.1);
    }
}

impl Headless {
    async fn start(size: [u32; 2]) -> Result<Headless, AppError> {
        let exe = chromium().ok_or_else(|| {
            AppError::Busy("export needs Chromium: install it, or name it with YIPING_CHROMIUM".into())
        })?;
        let profile = std::env::temp_dir().join(format!(
            "yiping-export-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let config = BrowserConfig::builder()
            .chrome_executable(&exe)
            .no_sandbox()
            .user_data_dir(&profile)
            .window_size(size[0], size[1])
            .viewport(Viewport {
                width: size[0],
                height: size[1],
                device_scale_factor: Some(1.0),
                emulating_mobile: false,
                is_landscape: size[0] >= size[1],
                has_touch: false,
            })
            .args(FLAGS)
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| AppError::Internal(format!("export: {e}")))?;
        let (browser, mut events) = Browser::launch(config)
            .await
            .map_err(|e| AppError::Internal(format!("export: cannot start {}: {e}", exe.display())))?;
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        Ok(Headless { browser, handler, profile })
    }

    async fn stop(mut self) {
        let _ = self.browser.close().await;
        let _ = self.browser.wait().await;
    }
}

fn cdp(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("export: {e}"))
}

/// Wait until the page shows `view` and has settled (see the module's docs).
async fn until_ready(page: &chromiumoxide::Page, view: &View) -> Result<(), AppError> {
    let want = serde_json::to_string(view).map_err(cdp)?;
    let shows = format!(
        "(() => {{
            const v = document.querySelector('[data-testid=present-view]');
            const c = document.querySelector('[data-testid=conn]');
            const m = document.querySelector('[data-testid=map]');
            return !!v && v.dataset.view === {want:?} && !!c && (c.dataset.state === 'live' || c.dataset.state === 'replay')
                && !!m && !!m.dataset.box && document.fonts.status === 'loaded';
        }})()"
    );
    let requests = "performance.getEntriesByType('resource').length";
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    let (mut quiet_since, mut last_count) = (None, -1i64);
    loop {
        if tokio::time::Instant::now() > deadline {
            return Err(AppError::Internal(format!(
                "export: the page did not show the view {want} within {} s",
                READY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ok = page
            .evaluate(shows.as_str())
            .await
            .ok()
            .and_then(|r| r.into_value::<bool>().ok())
            .unwrap_or(false);
        if !ok {
            quiet_since = None;
            continue;
        }
        let count = page.evaluate(requests).await.ok().and_then(|r| r.into_value::<i64>().ok()).unwrap_or(0);
        let now = tokio::time::Instant::now();
        if count != last_count {
            (last_count, quiet_since) = (count, Some(now));
            continue;
        }
        // Quiet for a second after showing the view: the fly-to has ended, drawers have loaded.
        if quiet_since.is_some_and(|t| now.duration_since(t) >= Duration::from_millis(1200)) {
            return Ok(());
        }
    }
}

/// PNG captures of `views` as the wall app shows them at `size`, for `cookie`'s user.
async fn capture(
    state: &Arc<AppState>,
    size: [u32; 2],
    cookie: Option<String>,
    steps: &[Step],
) -> Result<Vec<Vec<u8>>, AppError> {
    let addr = state
        .local_addr
        .get()
        .copied()
        .ok_or_else(|| AppError::Internal("export: the server's address is not known".into()))?;
    // The server's own address (loopback when it listens on every address).
    let ip = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    let base = format!("http://{}", std::net::SocketAddr::new(ip, addr.port()));
    let wall = format!("{WALL_PREFIX}{:016x}", rand::random::<u64>());
    let first = steps.first().ok_or_else(|| AppError::BadRequest("export: no views".into()))?;
    // Held until the page joins: the wall is not forgotten to make room meanwhile.
    let _held = state.walls.attach(&wall, Some(&first.view)).map_err(AppError::Busy)?;
    let _forget = Transient(state, wall.clone());
    let headless = Headless::start(size).await?;
    let result = async {
        let page = headless.browser.new_page("about:blank").await.map_err(cdp)?;
        if let Some(token) = cookie {
            let mut c = CookieParam::new(crate::auth::COOKIE, token);
            c.url = Some(base.clone());
            page.set_cookie(c).await.map_err(cdp)?;
        }
        page.goto(format!("{base}/{}?wall={wall}&lang={}", path(&first.view), first.view.lang))
            .await
            .map_err(cdp)?;
        let mut lang = first.view.lang.clone();
        let mut shots = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            // Another language is another page load, made here rather than by the page itself
            // (so the DevTools session follows it): the page in the old language is left first,
            // so it never sees the new view and reloads on its own.
            let reload = step.view.lang != lang;
            if reload {
                page.goto("about:blank").await.map_err(cdp)?;
            }
            if i > 0 {
                state.walls.put(&wall, step.view.clone());
            }
            if reload {
                lang.clone_from(&step.view.lang);
                page.goto(format!("{base}/{}?wall={wall}&lang={lang}", path(&step.view)))
                    .await
                    .map_err(cdp)?;
            }
            until_ready(&page, &step.view).await?;
            let shot = page
                .screenshot(
                    ScreenshotParams::builder()
                        .format(CaptureScreenshotFormat::Png)
                        .from_surface(true)
                        .build(),
                )
                .await
                .map_err(cdp)?;
            shots.push(shot);
        }
        Ok(shots)
    }
    .await;
    headless.stop().await;
    result
}

/// The address of a view's screen, without the slash (`` for the overview).
fn path(view: &View) -> &str {
    if view.screen == "overview" { "" } else { &view.screen }
}

/// What a view shows, in words, for a PDF page's heading (no region: the deployment's root).
fn describe(view: &View, places: &crate::places::Places) -> String {
    let screen = match view.screen.as_str() {
        "yangtze" => "长江大保护",
        "rivers" => "河湖长制",
        "projects" => "重大项目",
        "poverty" => "精准脱贫",
        _ => "全局概览",
    };
    let adcode = view.region.as_deref().unwrap_or(places.root());
    let region = match places.name(adcode) {
        Some(name) => format!("{name} {adcode}"),
        None => adcode.to_owned(),
    };
    let when = view.at.as_deref().map_or_else(|| "实时".to_owned(), |at| format!("回放 {at}"));
    format!("{screen} · 区域 {region} · {when}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A PDF of `shots`, one page each, headed by its step's title.
async fn print(
    size: [u32; 2],
    steps: &[Step],
    shots: &[Vec<u8>],
    made: &str,
    places: &crate::places::Places,
) -> Result<Vec<u8>, AppError> {
    use base64::Engine as _;
    let encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let head_px = 96u32;
    let mut html = format!(
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8><style>
         @page {{ size: {w}px {h}px; margin: 0; }}
         html, body {{ margin: 0; background: #030b18; color: #e6f2ff;
           font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', sans-serif; }}
         section {{ width: {w}px; height: {h}px; page-break-after: always; break-after: page; overflow: hidden; }}
         section:last-child {{ page-break-after: auto; break-after: auto; }}
         header {{ height: {head_px}px; box-sizing: border-box; padding: 14px 28px; display: flex; align-items: baseline; gap: 32px; }}
         h1 {{ margin: 0; font-size: 40px; }}
         p {{ margin: 0; font-size: 22px; color: #9fb8d6; }}
         img {{ display: block; width: {iw}px; height: {ih}px; }}
         </style></head><body>",
        w = size[0],
        h = size[1] + head_px,
        iw = size[0],
        ih = size[1],
    );
    for (step, shot) in steps.iter().zip(shots) {
        html.push_str(&format!(
            "<section><header><h1>{}</h1><p>{} · 导出 {}</p></header><img src=\"data:image/png;base64,{}\"></section>",
            escape(&step.title),
            escape(&describe(&step.view, places)),
            escape(made),
            encode(shot)
        ));
    }
    html.push_str("</body></html>");
    let headless = Headless::start([size[0], size[1] + head_px]).await?;
    let result = async {
        let page = headless.browser.new_page("about:blank").await.map_err(cdp)?;
        page.set_content(html).await.map_err(cdp)?;
        page.evaluate("document.fonts.ready.then(() => true)").await.map_err(cdp)?;
        let mut params =
            PrintToPdfParams::builder().print_background(true).prefer_css_page_size(true).build();
        params.generate_document_outline = Some(true);
        page.pdf(params).await.map_err(cdp)
    }
    .await;
    headless.stop().await;
    result
}

/// One export at a time.
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// `POST /api/v1/export`: the PNG of one view, or the PDF of several (presenters and admins).
#[utoipa::path(
    post,
    path = "/api/v1/export",
    tag = "presenting",
    security(("session" = [])),
    request_body(content = ExportRequest),
    responses(
        (status = 200, description = "What the wall shows: a PNG (one view) or a PDF (a page per view).", content(
            (Vec<u8> = "image/png"),
            (Vec<u8> = "application/pdf")
        )),
        crate::openapi::BadRequest, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::Busy
    )
)]
pub async fn http_export(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<ExportRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let user = caller.with_role(&[Role::Presenter, Role::Admin], "exporting")?.clone();
    let Json(req) =
        body.map_err(|e| AppError::BadRequest(format!("an export request as JSON: {}", e.body_text())))?;
    let size = req.size.unwrap_or([1920, 1080]);
    let area = u64::from(size[0]) * u64::from(size[1]);
    if size.iter().any(|s| !(320..=MAX_SIDE).contains(s)) || area > MAX_AREA {
        return Err(AppError::BadRequest(format!(
            "size {size:?}: each side 320 to {MAX_SIDE} pixels, at most {MAX_AREA} pixels in all"
        )));
    }
    let (steps, name) = match (req.storyline, req.steps.is_empty()) {
        (Some(id), true) => {
            let s = crate::storylines::get(state.trail.lock().or_poisoned().connection(), id)?;
            (s.steps, s.name)
        }
        (None, false) => (req.steps, "export".to_owned()),
        _ => return Err(AppError::BadRequest("send either steps or a storyline".into())),
    };
    // The same checks as a stored storyline's (titles, notes, views).
    let named = yiping_protocol::present::Storyline {
        id: 0,
        name: name.clone(),
        steps,
        changed_by: String::new(),
        changed: String::new(),
    };
    named.check().map_err(AppError::BadRequest)?;
    let steps = named.steps;
    if area * steps.len() as u64 > MAX_PDF_PIXELS {
        return Err(AppError::BadRequest(format!(
            "{} views of {size:?}: at most {MAX_PDF_PIXELS} pixels in one export",
            steps.len()
        )));
    }
    let pdf = match req.format.as_str() {
        "png" if steps.len() == 1 => false,
        "png" => {
            return Err(AppError::BadRequest(format!(
                "png: one view at a time; {} given (use pdf)",
                steps.len()
            )));
        }
        "pdf" if !steps.is_empty() && steps.len() <= MAX_PAGES => true,
        "pdf" => {
            return Err(AppError::BadRequest(format!("pdf: 1 to {MAX_PAGES} views; {} given", steps.len())));
        }
        other => return Err(AppError::BadRequest(format!("format {other:?}: png or pdf"))),
    };
    let _slot = RUNNING
        .try_acquire()
        .map_err(|_| AppError::Busy("an export is running; try again when it is done".into()))?;
    let made = state.clock.now().to_string();
    let work = async {
        let shots = capture(&state, size, crate::auth::cookie_token(&headers), &steps).await?;
        Ok::<_, AppError>(if pdf {
            (print(size, &steps, &shots, &made, &state.places).await?, "application/pdf", "pdf")
        } else {
            (shots.into_iter().next().unwrap_or_default(), "image/png", "png")
        })
    };
    let (bytes, mime, ext) = tokio::time::timeout(TOTAL_TIMEOUT, work).await.map_err(|_| {
        AppError::Busy(format!(
            "the export took longer than {} s; export fewer views",
            TOTAL_TIMEOUT.as_secs()
        ))
    })??;
    state.audit(NewEntry {
        actor: user.name.clone(),
        role: user.role.as_str().to_owned(),
        addr: caller.ip(),
        action: format!("export.{ext}"),
        target: req.storyline.map_or_else(|| "wall:export".to_owned(), |id| format!("storyline:{id}")),
        body: serde_json::json!({ "size": size, "titles": steps.iter().map(|s| s.title.clone()).collect::<Vec<_>>() }),
        ..NewEntry::default()
    })?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    let file = format!(
        "yiping-{}-{}x{}.{ext}",
        if name == "export" { "wall" } else { "storyline" },
        size[0],
        size[1]
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
