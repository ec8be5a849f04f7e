//! Storylines on the console: the one chosen, the step shown, stepping (buttons, keyboard and
//! clicker: PageDown/→ next, PageUp/← back, B or . blanks, Esc closes the drawer), and editing
//! (save the wall's view as a step, rename, reorder, delete, export, import). Every change is a
//! `PUT` of the whole storyline; the server keeps and audits it.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use yiping_protocol::present::{Step, Storyline};

use super::Console;
use crate::http::{fetch_json, put_json, send};

/// The storylines, the one chosen and the step shown.
#[derive(Debug, Clone, Copy)]
pub struct Story {
    list: RwSignal<Vec<Storyline>>,
    chosen: RwSignal<Option<u64>>,
    step: RwSignal<Option<usize>>,
    error: RwSignal<Option<String>>,
    /// A change is on its way to the server (the next waits: each sends the whole storyline).
    saving: RwSignal<bool>,
}

impl Default for Story {
    fn default() -> Story {
        Story::new()
    }
}

impl Story {
    /// None loaded yet.
    pub fn new() -> Story {
        Story {
            list: RwSignal::new(Vec::new()),
            chosen: RwSignal::new(None),
            step: RwSignal::new(None),
            error: RwSignal::new(None),
            saving: RwSignal::new(false),
        }
    }

    /// The storyline chosen (tracked).
    fn current(self) -> Option<Storyline> {
        let id = self.chosen.get()?;
        self.list.with(|l| l.iter().find(|s| s.id == id).cloned())
    }

    /// Read the storylines again (keeping the choice when it still exists).
    fn load(self) {
        leptos::task::spawn_local(async move {
            match fetch_json::<Vec<Storyline>>("/api/v1/storylines").await {
                Ok(l) => {
                    if self.chosen.get_untracked().is_none_or(|id| !l.iter().any(|s| s.id == id)) {
                        self.chosen.set(l.first().map(|s| s.id));
                        self.step.set(None);
                    }
                    self.list.set(l);
                }
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// Store `s` as it now is.
    fn save(self, s: Storyline) {
        self.saving.set(true);
        leptos::task::spawn_local(async move {
            match put_json::<_, Storyline>(&format!("/api/v1/storylines/{}", s.id), &s).await {
                Ok(saved) => {
                    self.error.set(None);
                    self.list.update(|l| {
                        if let Some(x) = l.iter_mut().find(|x| x.id == saved.id) {
                            *x = saved;
                        }
                    });
                }
                Err(e) => self.error.set(Some(e)),
            }
            self.saving.set(false);
        });
    }
}

/// Show step `i` of the chosen storyline on the wall.
fn go(c: Console, i: usize) {
    let Some(s) = c.story.current() else { return };
    if let Some(step) = s.steps.get(i) {
        c.story.step.set(Some(i));
        c.show_view(step.view.clone());
    }
}

/// The next (`+1`) or previous (`-1`) step.
fn step_by(c: Console, by: isize) {
    let Some(s) = untrack(|| c.story.current()) else { return };
    let n = s.steps.len();
    if n == 0 {
        return;
    }
    let i = match c.story.step.get_untracked() {
        None if by > 0 => 0,
        None => return,
        Some(i) => i.saturating_add_signed(by).min(n - 1),
    };
    if Some(i) != c.story.step.get_untracked() || c.story.step.get_untracked().is_none() {
        go(c, i);
    }
}

/// The keyboard and the clicker (only while this console controls the wall, and not while typing).
pub fn keys(c: Console) {
    let handle = window_event_listener(leptos::ev::keydown, move |e| {
        let typing = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || !untrack(|| c.yours()) {
            return;
        }
        match e.key().as_str() {
            "PageDown" | "ArrowRight" => step_by(c, 1),
            "PageUp" | "ArrowLeft" => step_by(c, -1),
            "b" | "B" | "." => c.toggle_blank(),
            "Escape" => c.show(|v| {
                if v.drawer.take().is_none() {
                    v.region = None;
                    v.map_box = None;
                }
            }),
            _ => return,
        }
        e.prevent_default();
    });
    on_cleanup(move || handle.remove());
}

/// Back, next, where in the storyline, and the presenter's note for the step.
#[component]
pub fn Stepper(
    /// The console.
    c: Console,
) -> impl IntoView {
    let st = c.story;
    let at = move || {
        let s = st.current()?;
        Some((st.step.get(), s.steps.len(), s))
    };
    view! {
        <div class="present-stepper" data-testid="stepper">
            <button class="step-big" data-testid="step-back" disabled=move || !c.yours() on:click=move |_| step_by(c, -1)>{c.tr("‹ 上一步", "‹ Back")}</button>
            <div class="step-now">
                {move || match at() {
                    None => c.tr("未选故事线", "No storyline").to_string(),
                    Some((None, n, s)) => c.lang.pick(format!("{} · 共 {n} 步", s.name), format!("{} · {n} steps", s.name)),
                    Some((Some(i), n, s)) => format!("{} / {n} · {}", i + 1, s.steps.get(i).map(|x| x.title.clone()).unwrap_or_default()),
                }}
                <p class="step-note" data-testid="step-note">
                    {move || at().and_then(|(i, _, s)| s.steps.get(i?).map(|x| x.note.clone())).unwrap_or_default()}
                </p>
            </div>
            <button class="step-big" data-testid="step-next" disabled=move || !c.yours() on:click=move |_| step_by(c, 1)>{c.tr("下一步 ›", "Next ›")}</button>
        </div>
    }
}

fn prompt(message: &str, default: &str) -> Option<String> {
    web_sys::window()?
        .prompt_with_message_and_default(message, default)
        .ok()
        .flatten()
        .filter(|s| !s.trim().is_empty())
}

/// Choose, make, edit, export and import storylines.
#[component]
pub fn Storylines(
    /// The console.
    c: Console,
) -> impl IntoView {
    let st = c.story;
    st.load();
    let title = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let create = move |_| {
        let Some(name) = prompt(c.tr("新故事线名称", "Name of the new storyline"), "") else { return };
        leptos::task::spawn_local(async move {
            let s =
                Storyline { id: 0, name, steps: vec![], changed_by: String::new(), changed: String::new() };
            match crate::http::post_json::<_, Storyline>("/api/v1/storylines", &s).await {
                Ok(made) => {
                    st.chosen.set(Some(made.id));
                    st.step.set(None);
                    st.load();
                }
                Err(e) => st.error.set(Some(e)),
            }
        });
    };
    let edit = move |f: &dyn Fn(&mut Storyline)| {
        if st.saving.get_untracked() {
            st.error.set(Some(
                c.tr("上一次修改正在保存，请稍候", "The last change is being saved; try again").into(),
            ));
            return;
        }
        if let Some(mut s) = untrack(|| st.current()) {
            f(&mut s);
            st.save(s);
        }
    };
    let add = move |_| {
        let Some(view) = c.feeds.wall.with_untracked(|s| s.as_ref().map(|s| s.view.clone())) else { return };
        let t = title.get_untracked();
        let t = if t.trim().is_empty() { c.tr("新步骤", "New step").to_string() } else { t };
        let n = note.get_untracked();
        edit(&|s| s.steps.push(Step { title: t.clone(), note: n.clone(), view: view.clone() }));
        title.set(String::new());
        note.set(String::new());
    };
    let rename = move |_| {
        let Some(s) = untrack(|| st.current()) else { return };
        if let Some(name) = prompt(c.tr("故事线名称", "Storyline name"), &s.name) {
            edit(&|s| s.name.clone_from(&name));
        }
    };
    let remove = move |_| {
        let Some(id) = st.chosen.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match send("DELETE", &format!("/api/v1/storylines/{id}"), None).await {
                Ok(_) => {
                    st.chosen.set(None);
                    st.load();
                }
                Err(e) => st.error.set(Some(e)),
            }
        });
    };
    let import = move |e: leptos::ev::Event| {
        let Some(input) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        let kind = if file.name().ends_with(".json") { "application/json" } else { "application/toml" };
        input.set_value("");
        leptos::task::spawn_local(async move {
            let text =
                wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string());
            let Some(text) = text else { return };
            match send("POST", "/api/v1/storylines/import", Some((kind, &text))).await {
                Ok(made) => {
                    if let Ok(made) = serde_json::from_str::<Storyline>(&made) {
                        st.chosen.set(Some(made.id));
                        st.step.set(None);
                    }
                    st.load();
                }
                Err(e) => st.error.set(Some(e)),
            }
        });
    };
    let steps = move || st.current().map(|s| s.steps).unwrap_or_default();
    view! {
        <section class="present-story" data-testid="storylines">
            <h2>{c.tr("故事线", "Storylines")}</h2>
            <div class="present-row">
                <select data-testid="storyline" prop:value=move || st.chosen.get().map(|i| i.to_string()).unwrap_or_default() on:change=move |e| {
                    st.chosen.set(event_target_value(&e).parse().ok());
                    st.step.set(None);
                }>
                    {move || st.list.get().into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect::<Vec<_>>()}
                </select>
                <button data-testid="story-new" on:click=create>{c.tr("新建", "New")}</button>
                <button data-testid="story-rename" disabled=move || st.chosen.get().is_none() on:click=rename>{c.tr("改名", "Rename")}</button>
                <button data-testid="story-delete" disabled=move || st.chosen.get().is_none() on:click=remove>{c.tr("删除", "Delete")}</button>
            </div>
            <ol class="present-steps" data-testid="steps">
                {move || {
                    let list = steps();
                    let n = list.len();
                    list.into_iter().enumerate().map(|(i, s)| {
                        let swap = move |j: usize| edit(&|x| x.steps.swap(i, j));
                        view! {
                            <li class:current=move || st.step.get() == Some(i)>
                                <button class="step-go" disabled=move || !c.yours() on:click=move |_| go(c, i)>{s.title.clone()}</button>
                                <button aria-label=c.tr("上移", "Up") disabled={i == 0} on:click=move |_| swap(i.saturating_sub(1))>"↑"</button>
                                <button aria-label=c.tr("下移", "Down") disabled={i + 1 >= n} on:click=move |_| swap(i + 1)>"↓"</button>
                                <button aria-label=c.tr("改名", "Rename") on:click=move |_| {
                                    let old = untrack(|| st.current()).and_then(|s| s.steps.get(i).map(|x| x.title.clone())).unwrap_or_default();
                                    if let Some(t) = prompt(c.tr("步骤名称", "Step title"), &old) {
                                        edit(&|x| if let Some(step) = x.steps.get_mut(i) { step.title.clone_from(&t) });
                                    }
                                }>"✎"</button>
                                <button aria-label=c.tr("删除", "Delete") on:click=move |_| edit(&|x| { if i < x.steps.len() { x.steps.remove(i); } })>"✕"</button>
                            </li>
                        }
                    }).collect::<Vec<_>>()
                }}
            </ol>
            <div class="present-add">
                <input data-testid="step-title" placeholder=c.tr("步骤名称", "Step title") prop:value=title on:input=move |e| title.set(event_target_value(&e)) />
                <textarea data-testid="step-note-input" placeholder=c.tr("讲解提示（仅演示台可见）", "Notes (console only)") prop:value=note on:input=move |e| note.set(event_target_value(&e))></textarea>
                <button data-testid="step-add" disabled=move || st.chosen.get().is_none() || c.state().is_none() on:click=add>{c.tr("保存当前画面为一步", "Save the wall's view as a step")}</button>
            </div>
            <div class="present-row">
                {move || st.chosen.get().map(|id| view! {
                    <a data-testid="export-toml" href=format!("/api/v1/storylines/{id}/file?format=toml") download=format!("storyline-{id}.toml")>{c.tr("导出 TOML", "Export TOML")}</a>
                    <a data-testid="export-json" href=format!("/api/v1/storylines/{id}/file?format=json") download=format!("storyline-{id}.json")>{c.tr("导出 JSON", "Export JSON")}</a>
                })}
                <label class="present-import">
                    {c.tr("导入…", "Import…")}
                    <input type="file" data-testid="import" accept=".toml,.json,application/toml,application/json" on:change=import />
                </label>
            </div>
            <super::export::Export c=c storyline=st.chosen />
            {move || st.error.get().map(|e| view! { <p class="present-refused" role="alert">{e}</p> })}
        </section>
    }
}
