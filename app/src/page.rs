//! What every page (wall, duty console, gallery) does first: read its language from the address
//! (`?lang=en`), tell the browser (`<html lang>`, the title), and provide the number style of that
//! language to the widgets.

use leptos::prelude::*;
use yiping_widgets::NumberStyle;

use crate::i18n::Lang;

/// The page's query string (`?lang=en&…`, or empty).
pub fn query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// Set the page up in the language of `query`, titled `(zh, en)`; returns the language.
pub fn start(query: &str, title: (&str, &str)) -> Lang {
    let lang = Lang::from_query(query);
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        if let Some(el) = doc.document_element() {
            let _ = el.set_attribute("lang", lang.tag());
        }
        doc.set_title(lang.pick(title.0, title.1));
    }
    provide_context(lang.pick(NumberStyle::Chinese, NumberStyle::Western));
    lang
}

/// What a page is waiting for before it can show itself.
#[derive(Debug, Clone, PartialEq)]
enum Opening {
    /// Asking the server which region this page shows.
    Asking,
    /// The deployment lets nobody look without a login.
    Login,
    /// The server gave no answer (`retrying`: asked again shortly), or refused, or answered what
    /// this page cannot read (a 403, a 500).
    Trouble {
        /// What went wrong.
        why: String,
        /// Whether the page asks again by itself.
        retrying: bool,
    },
    /// The region is known.
    Ready,
}

/// Show `children` once the page knows the region it shows (`GET /api/v1/site`: the
/// deployment's root region, or the region a scoped login is cut to; see [`crate::site`]). A
/// deployment that turns anonymous reading off gets the login form first; a server that cannot
/// be reached is asked again every few seconds, so a wall started before its server comes up.
#[component]
pub fn SiteGate(
    /// The login form's heading (zh, en).
    heading: (&'static str, &'static str),
    /// What a login is for (zh, en).
    note: (&'static str, &'static str),
    /// The page.
    children: ChildrenFn,
) -> impl IntoView {
    let lang = Lang::from_query(&query());
    let opening = RwSignal::new(Opening::Asking);
    fn ask(opening: RwSignal<Opening>) {
        leptos::task::spawn_local(async move {
            match crate::http::fetch_json_status::<yiping_protocol::api::SiteInfo>("/api/v1/site").await {
                Ok(info) => {
                    crate::site::set(crate::site::Site::new(info));
                    opening.set(Opening::Ready);
                }
                Err((401, _)) => opening.set(Opening::Login),
                // No answer, or a proxy's while the server restarts: ask again shortly.
                Err((0 | 502..=504, why)) => {
                    opening.set(Opening::Trouble { why, retrying: true });
                    set_timeout(move || ask(opening), std::time::Duration::from_secs(3));
                }
                Err((_, why)) => opening.set(Opening::Trouble { why, retrying: false }),
            }
        });
    }
    ask(opening);
    move || {
        match opening.get() {
        Opening::Ready => children().into_any(),
        Opening::Login => view! {
            <div class="page-gate">
                <crate::login::LoginForm lang=lang heading=heading note=note />
            </div>
        }
        .into_any(),
        Opening::Trouble { why, retrying } => view! {
            <div class="page-gate" role="alert" data-testid="page-trouble" data-retrying=retrying.to_string()>
                <p>
                    {if retrying {
                        lang.pick("无法连接服务器，稍后自动重试。", "The server cannot be reached; trying again shortly.")
                    } else {
                        lang.pick("服务器拒绝了本页面的请求。", "The server refused this page.")
                    }}
                </p>
                <p class="login-note">{why}</p>
            </div>
        }
        .into_any(),
        Opening::Asking => ().into_any(),
    }
    }
}
