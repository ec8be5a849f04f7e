//! Export from the console: the server renders the wall's view (PNG at the wall's own size, or
//! PDF) or a storyline (PDF, a page per step) and the browser saves the file.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use yiping_protocol::present::Step;

use super::Console;

/// Ask the server for an export (`body`: the request) and save the answer as `file`.
async fn fetch_and_save(body: serde_json::Value, file: String) -> Result<(), String> {
    let resp =
        crate::http::request("POST", "/api/v1/export", Some(("application/json", &body.to_string()))).await?;
    let blob: web_sys::Blob =
        wasm_bindgen_futures::JsFuture::from(resp.blob().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|e| format!("{e:?}"))?
            .dyn_into()
            .map_err(|_| "not a file")?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let doc = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement =
        doc.create_element("a").map_err(|e| format!("{e:?}"))?.dyn_into().map_err(|_| "no anchor")?;
    a.set_href(&url);
    a.set_download(&file);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// The export buttons: this view as PNG or PDF, the chosen storyline as PDF.
#[component]
pub fn Export(
    /// The console.
    c: Console,
    /// The storyline chosen (its id), if any.
    #[prop(into)]
    storyline: Signal<Option<u64>>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let run = move |body: serde_json::Value, file: String| {
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            if let Err(e) = fetch_and_save(body, file).await {
                error.set(Some(e));
            }
            busy.set(false);
        });
    };
    let size =
        move || c.feeds.wall.with_untracked(|s| s.as_ref().and_then(|s| s.size)).unwrap_or([1920, 1080]);
    let this_view = move |format: &'static str| {
        let Some(view) = c.feeds.wall.with_untracked(|s| s.as_ref().map(|s| s.view.clone())) else { return };
        let [w, h] = size();
        let step = Step { title: c.tr("大屏画面", "Wall view").into(), note: String::new(), view };
        run(
            serde_json::json!({ "format": format, "size": [w, h], "steps": [step] }),
            format!("yiping-wall-{w}x{h}.{format}"),
        );
    };
    view! {
        <div class="present-row present-export">
            <button data-testid="export-png" disabled=move || busy.get() || c.state().is_none() on:click=move |_| this_view("png")>
                {move || if busy.get() { c.tr("导出中…", "Exporting…") } else { c.tr("导出画面 PNG", "View as PNG") }}
            </button>
            <button data-testid="export-pdf" disabled=move || busy.get() || c.state().is_none() on:click=move |_| this_view("pdf")>
                {c.tr("导出画面 PDF", "View as PDF")}
            </button>
            <button data-testid="export-story-pdf" disabled=move || busy.get() || storyline.get().is_none() on:click=move |_| {
                let Some(id) = storyline.get_untracked() else { return };
                let [w, h] = size();
                run(serde_json::json!({ "format": "pdf", "size": [w, h], "storyline": id }), format!("yiping-storyline-{id}.pdf"));
            }>{c.tr("导出故事线 PDF", "Storyline as PDF")}</button>
            {move || error.get().map(|e| view! { <span class="present-refused" role="alert">{e}</span> })}
        </div>
    }
}
