//! Entry point of the wall app's WebAssembly binary (see the library's docs).

#[cfg(target_arch = "wasm32")]
fn main() {
    yiping_app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "yiping-app is a WebAssembly app: build it with `trunk build` and open it from `yiping serve`."
    );
    std::process::exit(2);
}
