//! The one login form of the consoles (`/duty`, `/present`): a name, a password, the server's
//! refusal if any; a login reloads the page, so its websocket carries the user's session.

use leptos::prelude::*;
use serde::de::IgnoredAny;
use yiping_protocol::api::Login;

use crate::http::post_json;
use crate::i18n::Lang;

/// Reload the page (after logging in or out).
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The login form.
#[component]
pub fn LoginForm(
    /// The page's language.
    lang: Lang,
    /// The heading (zh, en).
    heading: (&'static str, &'static str),
    /// What a login is for (zh, en).
    note: (&'static str, &'static str),
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let submit = move || {
        let body = Login { name: name.get_untracked(), password: password.get_untracked() };
        leptos::task::spawn_local(async move {
            match post_json::<_, IgnoredAny>("/api/v1/login", &body).await {
                Ok(_) => reload(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="login" data-testid="login" on:submit=move |e| { e.prevent_default(); submit(); }>
            <h2>{lang.pick(heading.0, heading.1)}</h2>
            <input data-testid="login-name" autocomplete="username" placeholder=lang.pick("用户名", "User name") on:input=move |e| name.set(event_target_value(&e)) />
            <input data-testid="login-password" type="password" autocomplete="current-password" placeholder=lang.pick("密码", "Password") on:input=move |e| password.set(event_target_value(&e)) />
            <button type="submit" data-testid="login-submit">{lang.pick("登录", "Log in")}</button>
            {move || error.get().map(|e| view! { <div class="drill-error" role="alert">{e}</div> })}
            <p class="login-note">{lang.pick(note.0, note.1)}</p>
        </form>
    }
}
