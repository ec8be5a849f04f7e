//! The yiping wall app (Leptos, client-side rendered, built to WebAssembly by Trunk).
//!
//! Design: one websocket per page (`link`) feeds a few reactive signals (`link::Feeds`); every
//! panel reads those signals and updates in place, so nothing is rebuilt while the page runs for
//! weeks. Logic that does not need a browser ([`cursors`]: sequence checks, resume points, backoff;
//! [`i18n`]; [`theme`]) is plain Rust and tested natively; browser code (`link`, `map`, `wall`)
//! is compiled for `wasm32` only.

pub mod alert_text;
pub mod cursors;
pub mod i18n;
pub mod periods;
pub mod replay;
pub mod screens;
pub mod site;
pub mod theme;
pub mod wallbench;

#[cfg(target_arch = "wasm32")]
pub mod alerts;
#[cfg(target_arch = "wasm32")]
mod bench;
#[cfg(target_arch = "wasm32")]
pub mod drill;
#[cfg(target_arch = "wasm32")]
pub mod duty;
#[cfg(target_arch = "wasm32")]
pub mod gallery;
#[cfg(target_arch = "wasm32")]
pub mod http;
#[cfg(target_arch = "wasm32")]
pub mod link;
#[cfg(target_arch = "wasm32")]
pub mod login;
#[cfg(target_arch = "wasm32")]
pub mod map;
#[cfg(target_arch = "wasm32")]
pub mod mapbench;
#[cfg(target_arch = "wasm32")]
pub mod page;
#[cfg(target_arch = "wasm32")]
pub mod present;
#[cfg(target_arch = "wasm32")]
pub mod themes;
#[cfg(target_arch = "wasm32")]
pub mod timer;
#[cfg(target_arch = "wasm32")]
pub mod wall;

/// Mount the page for the address on `<body>`: `/duty` is the duty officers' console,
/// `/present` the presenter's console,
/// `/gallery` the widget gallery, `/mapbench` the map under load (benchmarks), `/wallbench` the
/// peers' fixed wall workload (benchmarks), anything else the wall.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    console_error_panic_hook::set_once();
    let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
    let path = path.trim_end_matches('/');
    if path == "/gallery" {
        leptos::mount::mount_to_body(gallery::Gallery);
    } else if path == "/duty" {
        leptos::mount::mount_to_body(duty::Duty);
    } else if path == "/present" {
        leptos::mount::mount_to_body(present::Present);
    } else if path == "/mapbench" {
        leptos::mount::mount_to_body(mapbench::MapBench);
    } else if path == "/wallbench" {
        leptos::mount::mount_to_body(wallbench::WallBench);
    } else {
        leptos::mount::mount_to_body(wall::WallPage);
    }
}
